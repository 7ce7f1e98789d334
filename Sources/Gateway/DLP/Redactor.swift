import Foundation
import Policy
import Synchronization

/// What one request's redaction did: the placeholders and what they stand for (kept for
/// this request only, to restore the answer), and how many matches of each label.
struct Redaction: Sendable {
    /// `[EMAIL_1]` → the original text.
    var originals: [String: String] = [:]
    /// The original text → its placeholder, so a value repeated gets one placeholder.
    var placeholders: [String: String] = [:]
    /// Matches per label (`EMAIL`, `CARD` …).
    var counts: [String: Int] = [:]

    var isEmpty: Bool { originals.isEmpty }

    /// The placeholder for `original`, numbered per label in order of appearance.
    mutating func placeholder(for original: String, label: String) -> String {
        counts[label, default: 0] += 1
        if let known = placeholders[original] { return known }
        let number = originals.keys.filter { $0.hasPrefix("[\(label)_") }.count + 1
        let placeholder = "[\(label)_\(number)]"
        originals[placeholder] = original
        placeholders[original] = placeholder
        return placeholder
    }
}

/// Replaces what a DLP policy detects with stable placeholders (`[EMAIL_1]`, `[CARD_2]` …).
/// The policy's own patterns are compiled once per policy revision and kept.
final class Redactor: Sendable {
    /// The longest text scanned in one piece (longer content is scanned up to this much).
    static let textBytesMax = 4 << 20
    /// Compiled custom-pattern sets kept (one per policy revision).
    static let compiledPoliciesMax = 1_024

    private let compiled = Mutex<[String: [DLPDetectors.Detector]]>([:])

    /// The detectors of `policy`: built-in ones, then its own patterns (label: the name
    /// upper-cased). A pattern that does not compile is skipped; the policy validator
    /// refuses such patterns, so this only guards old records.
    func detectors(for policy: DLPPolicy) -> [DLPDetectors.Detector] {
        let key = "\(policy.id)@\(policy.updated.index)"
        if let known = compiled.withLock({ $0[key] }) { return known }
        let custom = policy.patterns.compactMap { pattern -> DLPDetectors.Detector? in
            guard let regex = try? NSRegularExpression(pattern: pattern.regex) else { return nil }
            let label = pattern.name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
            return DLPDetectors.Detector(label: String(label), regex: regex, validate: { _ in true })
        }
        let all = DLPDetectors.detectors(policy.detectors) + custom
        compiled.withLock {
            if $0.count >= Self.compiledPoliciesMax { $0.removeAll() }
            $0[key] = all
        }
        return all
    }

    /// `text` with every detected value replaced, noting them in `redaction`.
    func redact(_ text: String, with detectors: [DLPDetectors.Detector], into redaction: inout Redaction) -> String {
        guard !text.isEmpty else { return text }
        var result = text
        for detector in detectors {
            let ns = result as NSString
            let scanned = NSRange(location: 0, length: min(ns.length, Self.textBytesMax))
            let regions = detector.anchors.isEmpty ? [scanned] : detector.regions(in: Array(result.utf16.prefix(scanned.length)))
            // Transparent bounds: look-arounds see past a region's edges.
            let matches = regions.flatMap { detector.regex.matches(in: result, options: [.withTransparentBounds], range: $0) }
            guard !matches.isEmpty else { continue }
            var rebuilt = "", cursor = 0
            for match in matches {
                let value = ns.substring(with: match.range)
                // A value already replaced by an earlier detector is a placeholder; skip it.
                guard detector.validate(value), !value.hasPrefix("[") else { continue }
                rebuilt += ns.substring(with: NSRange(location: cursor, length: match.range.location - cursor))
                rebuilt += redaction.placeholder(for: value, label: detector.label)
                cursor = match.range.location + match.range.length
            }
            rebuilt += ns.substring(from: cursor)
            result = rebuilt
        }
        return result
    }
}

/// Puts the originals back into an answer that arrives in pieces, holding back the end of
/// a piece that may be the start of a placeholder until the next piece shows.
struct PlaceholderRestorer: Sendable {
    let originals: [String: String]
    /// The longest placeholder, past which held-back text cannot be one.
    let placeholderLengthMax: Int
    private var pending = ""

    init(_ redaction: Redaction) {
        originals = redaction.originals
        placeholderLengthMax = redaction.originals.keys.map(\.count).max() ?? 0
    }

    /// Text to pass on for `piece`.
    mutating func feed(_ piece: String) -> String {
        let text = pending + piece
        var hold = text.endIndex
        if let open = text.lastIndex(of: "["), text.distance(from: open, to: text.endIndex) < placeholderLengthMax,
           text[text.index(after: open)...].allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }) {
            hold = open
        }
        pending = String(text[hold...])
        return restore(String(text[..<hold]))
    }

    /// What is still held back, at the end of the answer.
    mutating func finish() -> String {
        defer { pending = "" }
        return restore(pending)
    }

    /// `text` with every complete placeholder replaced.
    func restore(_ text: String) -> String {
        guard !originals.isEmpty, text.contains("[") else { return text }
        var out = text
        for (placeholder, original) in originals where out.contains(placeholder) {
            out = out.replacingOccurrences(of: placeholder, with: original)
        }
        return out
    }
}

/// The DLP scan from outside the gateway, for benchmarks: every built-in detector over
/// `text`; returns how many values it replaced.
public enum DLPScan {
    private static let redactor = Redactor()

    public static func redactAll(_ text: String, detectors: [DLPPolicy.Detector] = DLPPolicy.Detector.allCases) -> Int {
        var redaction = Redaction()
        _ = redactor.redact(text, with: DLPDetectors.detectors(detectors), into: &redaction)
        return redaction.counts.values.reduce(0, +)
    }
}
