import Foundation
import Policy

/// The built-in detectors: a regular expression each, compiled once, and where a pattern
/// alone would match too much a check of the match itself (Luhn for cards, mod 97 for
/// IBANs, an address parser for IPv6).
enum DLPDetectors {
    private static func make(
        _ label: String, _ pattern: String, anchors: [String] = [], digitsMin: Int = 0, runs: Detector.RunClass? = nil,
        validate: @escaping @Sendable (String) -> Bool = { _ in true }
    ) -> Detector {
        // The patterns are constants of this file; one that did not compile is a bug here.
        Detector(label: label, regex: try! NSRegularExpression(pattern: pattern), validate: validate, anchors: anchors, digitsMin: digitsMin, runs: runs)
    }

    static let email = make("EMAIL", #"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#, anchors: ["@"])
    static let phone = make(
        "PHONE", #"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w)"#,
        digitsMin: 7, runs: .number, validate: { text in (7...15).contains(text.filter(\.isNumber).count) })
    static let creditCard = make("CARD", #"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"#, digitsMin: 13, runs: .number, validate: { luhn($0.filter(\.isNumber)) })
    static let iban = make("IBAN", #"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"#, digitsMin: 2, runs: .upperAlphanumeric, validate: { ibanChecksum($0.filter { !$0.isWhitespace }) })
    static let ssn = make("SSN", #"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"#, digitsMin: 9, runs: .number)
    static let ipv4 = make("IP", #"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"#, digitsMin: 4, runs: .number)
    static let ipv6 = make("IP", #"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"#, anchors: [":"], validate: isIPv6)
    static let apiKey = make(
        "SECRET",
        #"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|weir_[A-Za-z0-9_-]{43})"#
            + #"|(?i:(?:api[_-]?key|secret|password|passwd|token)\s*[:=]\s*)["']?[^\s"']{8,}"#,
        anchors: ["sk-", "akia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "aiza", "weir_", "key", "secret", "passw", "token"])

    /// The detectors a policy's built-in names stand for.
    static func detectors(_ names: [DLPPolicy.Detector]) -> [Detector] {
        names.flatMap { name -> [Detector] in
            switch name {
            case .email: [email]
            case .phone: [phone]
            case .creditCard: [creditCard]
            case .iban: [iban]
            case .ssn: [ssn]
            case .ipAddress: [ipv4, ipv6]
            case .apiKey: [apiKey]
            }
        }
    }

    /// The Luhn checksum of a card number's digits.
    static func luhn(_ digits: String) -> Bool {
        guard (13...19).contains(digits.count) else { return false }
        var sum = 0
        for (position, character) in digits.reversed().enumerated() {
            guard var value = character.wholeNumberValue else { return false }
            if position % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    /// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 = 1.
    static func ibanChecksum(_ iban: String) -> Bool {
        guard (15...34).contains(iban.count) else { return false }
        var remainder = 0
        for character in iban.dropFirst(4) + iban.prefix(4) {
            if let digit = character.wholeNumberValue {
                remainder = (remainder * 10 + digit) % 97
            } else if let ascii = character.asciiValue, (65...90).contains(ascii) {
                remainder = (remainder * 100 + Int(ascii) - 55) % 97
            } else {
                return false
            }
        }
        return remainder == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return text.contains("::") || text.filter({ $0 == ":" }).count == 7 ? inet_pton(AF_INET6, text, &address) == 1 : false
    }
}
