import Foundation
import Policy
import SeededRandom
import Testing
@testable import Gateway

/// The detectors, stable placeholders, and restoration of answers that arrive in pieces.
@Suite struct DLPTests {
    private func redact(_ text: String, _ detectors: [DLPPolicy.Detector], patterns: [DLPPolicy.Pattern] = []) -> (String, Redaction) {
        let policy = DLPPolicy(id: "dlp:t", name: nil, enabled: true, action: .redact, detectors: detectors, patterns: patterns, created: .pending, updated: .pending)
        let redactor = Redactor()
        var redaction = Redaction()
        let out = redactor.redact(text, with: redactor.detectors(for: policy), into: &redaction)
        return (out, redaction)
    }

    @Test func eachDetectorFindsItsKindAndNotItsLookalikes() {
        let cases: [(DLPPolicy.Detector, found: [String], missed: [String])] = [
            (.email, ["ann@acme.test", "a.b+c@mail.example.co.uk"], ["ann@", "@acme.test", "not an email"]),
            (.phone, ["+1 415 555 0100", "(030) 1234 5678", "020-7946-0958"], ["2024", "12 34", "v1.2.3"]),
            (.creditCard, ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"], ["4111 1111 1111 1112", "1234 5678 9012 3456"]),
            (.iban, ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"], ["GB82 WEST 1234 5698 7654 33", "XX00 0000"]),
            (.ssn, ["123-45-6789"], ["000-12-3456", "666-12-3456", "123-00-6789"]),
            (.ipAddress, ["192.168.1.20", "2001:db8::8a2e:370:7334", "fe80::1"], ["999.1.1.1", "1.2.3", "12:34"]),
            (.apiKey, ["sk-proj-abcdefghijklmnopqrstuvwx", "AKIAIOSFODNN7EXAMPLE", "api_key=Zx81kq0pLm3"], ["sk-short", "the key is nice"]),
        ]
        for (detector, found, missed) in cases {
            for value in found {
                let (out, redaction) = redact("before \(value) after", [detector])
                #expect(!out.contains(value) && redaction.originals.values.contains(value), "\(detector) should find \(value): \(out)")
            }
            for value in missed {
                let (out, _) = redact("before \(value) after", [detector])
                #expect(out == "before \(value) after", "\(detector) should leave \(value): \(out)")
            }
        }
    }

    @Test func anchoredDetectorsFindValuesAnywhereInALongText() {
        let filler = String(repeating: "lorem ipsum dolor sit amet. ", count: 200)
        let text = "ann@acme.test " + filler + "fe80::1 and my password: hunter2hunter2 " + filler + "last@example.org"
        let (out, redaction) = redact(text, [.email, .ipAddress, .apiKey])
        #expect(redaction.counts == ["EMAIL": 2, "IP": 1, "SECRET": 1], "\(redaction.counts)")
        #expect(out.hasPrefix("[EMAIL_1] ") && out.hasSuffix("[EMAIL_2]") && out.contains("[IP_1] and my [SECRET_1] "))
    }

    @Test func placeholdersAreStablePerValueAndNumberedPerKind() {
        let (out, redaction) = redact("ann@a.test, bob@b.test, ann@a.test; EMP-123456", [.email], patterns: [.init(name: "employee id", regex: #"EMP-\d{6}"#)])
        #expect(out == "[EMAIL_1], [EMAIL_2], [EMAIL_1]; [EMPLOYEE_ID_1]")
        #expect(redaction.counts == ["EMAIL": 3, "EMPLOYEE_ID": 1])
        #expect(PlaceholderRestorer(redaction).restore(out) == "ann@a.test, bob@b.test, ann@a.test; EMP-123456")
    }

    @Test func restorationIsTheSameHoweverTheAnswerIsCut() {
        var redaction = Redaction()
        for (n, value) in ["ann@a.test", "bob@b.test", "4111 1111 1111 1111"].enumerated() {
            _ = redaction.placeholder(for: value, label: n < 2 ? "EMAIL" : "CARD")
        }
        let pieces = ["[EMAIL_1]", "[EMAIL_2]", "[CARD_1]", "[EMAIL_9]", "[lower]", "[", "]", "[EMAIL_", "x", " ", "ok"]
        for seed in UInt64(1)...300 {
            var random = SplitMix64(seed: seed)
            let text = (0..<Int.random(in: 1...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            var restorer = PlaceholderRestorer(redaction)
            var out = "", rest = Substring(text)
            while !rest.isEmpty {
                let cut = Int.random(in: 1...min(7, rest.count), using: &random)
                out += restorer.feed(String(rest.prefix(cut)))
                rest = rest.dropFirst(cut)
            }
            out += restorer.finish()
            let expected = PlaceholderRestorer(redaction).restore(text)
            #expect(out == expected, "seed \(seed): \(text) came out as \(out)")
            if out != expected { break }
        }
    }

    @Test func theScanShortcutsFindWhatAFullScanFinds() {
        let all = DLPDetectors.detectors(DLPPolicy.Detector.allCases)
        // The same regexes over the whole text, with no shortcut.
        let unfiltered = all.map { DLPDetectors.Detector(label: $0.label, regex: $0.regex, validate: $0.validate) }
        let pieces = ["4111 1111 1111 1111", "4111\t1111-1111 1111", "123-45-6789", "+1 415 555 0100", "(415) 555-0100", "10.0.0.1", "GB82 WEST 1234 5698 7654 32",
                      "ann@a.test", "٤١١١ ١١١١ ١١١١ ١١١١", "７", "1", "22", "333", " ", "\n", "word", "WORD", "é", "-", ".", ",", "+", "(",
                      "sk-abcdefghijklmnopqrstuvwxyz", "token: abcdefghij", "password   =   hunter2hunter2", "fe80::1", "DE89 3704 0044 0532 0130 00"]
        for seed in UInt64(1)...400 {
            var random = SplitMix64(seed: seed)
            let text = (0..<Int.random(in: 1...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined(separator: [" ", "", ", ", "x"].randomElement(using: &random)!)
            var fast = Redaction(), slow = Redaction()
            let out = Redactor().redact(text, with: all, into: &fast)
            let expected = Redactor().redact(text, with: unfiltered, into: &slow)
            #expect(out == expected && fast.counts == slow.counts, "seed \(seed): \(text)\n fast: \(out) \(fast.counts)\n full: \(expected) \(slow.counts)")
            if out != expected { break }
        }
    }
}
