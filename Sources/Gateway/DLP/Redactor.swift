import Foundation
import Policy
import Synchronization

/// What one request's redaction did: the placeholders and what they stand for (kept for
/// this request only, to restore the answer), and how many matches of each label.
struct Redaction: Sendable {
    /// Distinct values one request may have replaced by numbered, restorable placeholders.
    /// Past it every further value is still replaced, by `[LABEL_REDACTED]`, which is
    /// never restored: the request's memory and the answer's restoration stay bounded.
    static let valuesMax = 10_000
    /// How long all the patterns of one request may run, together. A policy's own pattern
    /// may backtrack for minutes on a crafted text; past the budget the request is refused
    /// (DLP fails closed: unscanned text never leaves the node).
    static let scanBudget: Duration = .milliseconds(500)

    /// `[EMAIL_1]` → the original text.
    var originals: [String: String] = [:]
    /// The original text → its placeholder, so a value repeated gets one placeholder.
    var placeholders: [String: String] = [:]
    /// Matches per label (`EMAIL`, `CARD` …).
    var counts: [String: Int] = [:]
    /// The next number of each label's placeholders.
    private var nextNumber: [String: Int] = [:]
    /// True when more than `valuesMax` distinct values were found.
    var overflowed = false
    /// The label of the detector that ran out of `scanBudget`, if one did.
    var timedOut: String?
    /// When the scan must end.
    var deadline = ContinuousClock.now + Redaction.scanBudget

    var isEmpty: Bool { counts.isEmpty }

    /// The placeholder for `original`, numbered per label in order of appearance.
    mutating func placeholder(for original: String, label: String) -> String {
        counts[label, default: 0] += 1
        if let known = placeholders[original] { return known }
        guard placeholders.count < Self.valuesMax else {
            overflowed = true
            return "[\(label)_REDACTED]"
        }
        let number = nextNumber[label, default: 1]
        nextNumber[label] = number + 1
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

    /// `text` as UTF-16, up to `textBytesMax` units (a whole view copies on the fast path;
    /// a slice of it would go unit by unit).
    static func utf16(_ text: String) -> [UInt16] {
        var units = Array(text.utf16)
        if units.count > textBytesMax { units.removeLast(units.count - textBytesMax) }
        return units
    }

    /// Characters on each side of a region that the regex sees (its look-arounds reach one).
    static let regionContext = 8

    /// `text` with every detected value replaced, noting them in `redaction`.
    func redact(_ text: String, with detectors: [DLPDetectors.Detector], into redaction: inout Redaction) -> String {
        guard !text.isEmpty else { return text }
        // Replacing only removes digits and adds ASCII, so the first text's profile bounds
        // every later one.
        var copy = text
        let profile = copy.withUTF8 { DLPDetectors.TextProfile($0) }
        var scan = ScanText(text, isASCII: profile.isASCII)
        for detector in detectors where detector.mayMatch(profile) {
            var matches: [NSRange] = []
            for region in scan.regions(detector) {
                // Checked here too: ICU calls back only during a long match, and a text of many
                // short regions would otherwise run past the budget one region at a time.
                guard ContinuousClock.now <= redaction.deadline,
                      let found = scan.matches(detector.regex, region: region, until: redaction.deadline) else {
                    redaction.timedOut = detector.label
                    return text
                }
                matches += found
            }
            guard !matches.isEmpty else { continue }
            var rebuilt = "", cursor = 0
            for match in matches {
                let value = scan.substring(match)
                // A value already replaced by an earlier detector is a placeholder; skip it.
                guard detector.validate(value), !value.hasPrefix("[") else { continue }
                rebuilt += scan.substring(NSRange(location: cursor, length: match.location - cursor))
                rebuilt += redaction.placeholder(for: value, label: detector.label)
                cursor = match.location + match.length
            }
            rebuilt += scan.tail(from: cursor)
            scan = ScanText(rebuilt, isASCII: profile.isASCII)
        }
        return scan.string
    }
}

/// A text being redacted. An ASCII text is read as UTF-8 (whose offsets are UTF-16's):
/// Foundation would read it through a bridge that transcodes unit by unit.
private struct ScanText {
    let string: String
    let isASCII: Bool
    private var utf8: [UInt8] = []
    private var units: [UInt16] = []
    private let ns: NSString

    init(_ string: String, isASCII: Bool) {
        self.string = string
        self.isASCII = isASCII
        ns = string as NSString
        if isASCII { utf8 = Array(string.utf8) } else { units = Redactor.utf16(string) }
    }

    /// The UTF-16 units scanned: the whole text up to `textBytesMax`.
    var length: Int { isASCII ? min(utf8.count, Redactor.textBytesMax) : units.count }

    /// The text from `offset` to its very end (past `textBytesMax` too).
    func tail(from offset: Int) -> String {
        isASCII ? String(decoding: utf8[offset...], as: UTF8.self) : ns.substring(from: offset)
    }

    func substring(_ range: NSRange) -> String {
        isASCII ? String(decoding: utf8[range.location..<(range.location + range.length)], as: UTF8.self) : ns.substring(with: range)
    }

    func regions(_ detector: DLPDetectors.Detector) -> [NSRange] {
        isASCII
            ? utf8.withUnsafeBufferPointer { detector.regions(in: UnsafeBufferPointer(rebasing: $0.prefix(Redactor.textBytesMax)), isASCII: true) }
            : detector.regions(in: units, isASCII: false)
    }

    /// The matches of `regex` inside `region`. A region short of the whole text is matched
    /// as a string of its own (with `regionContext` around it, seen through transparent
    /// bounds): ICU reads a Swift string through a bridge whose cost grows with the string,
    /// not with the range searched.
    /// Nil when the search was still running at `deadline` (ICU reports progress during
    /// a long match, so even a backtracking pattern is stopped in time).
    func matches(_ regex: NSRegularExpression, region: NSRange, until deadline: ContinuousClock.Instant) -> [NSRange]? {
        if region.location == 0 && region.length >= length {
            return Self.matches(regex, in: string, range: NSRange(location: 0, length: length), options: [], until: deadline)
        }
        let start = max(0, region.location - Redactor.regionContext)
        let end = min(length, region.location + region.length + Redactor.regionContext)
        let piece = substring(NSRange(location: start, length: end - start))
        return Self.matches(regex, in: piece, range: NSRange(location: region.location - start, length: region.length), options: [.withTransparentBounds], until: deadline)?
            .map { NSRange(location: $0.location + start, length: $0.length) }
    }

    private static func matches(
        _ regex: NSRegularExpression, in text: String, range: NSRange, options: NSRegularExpression.MatchingOptions, until deadline: ContinuousClock.Instant
    ) -> [NSRange]? {
        var found: [NSRange] = []
        var late = false
        regex.enumerateMatches(in: text, options: options.union(.reportProgress), range: range) { match, _, stop in
            if let match { found.append(match.range) }
            if ContinuousClock.now > deadline {
                late = true
                stop.pointee = true
            }
        }
        return late ? nil : found
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
        placeholderLengthMax = redaction.originals.keys.map(\.utf8.count).max() ?? 0
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

    /// Whether any placeholder occurs in `bytes` (UTF-8). One pass, each `[` looked up once:
    /// the cost does not grow with the number of placeholders.
    func appears(in bytes: some Collection<UInt8>) -> Bool {
        guard !originals.isEmpty else { return false }
        let text = Array(bytes)
        var index = 0
        while let open = text[index...].firstIndex(of: UInt8(ascii: "[")) {
            if let close = Self.closing(text, after: open, within: placeholderLengthMax),
               originals[String(decoding: text[open...close], as: UTF8.self)] != nil { return true }
            index = open + 1
        }
        return false
    }

    /// `text` with every complete placeholder replaced, in one pass.
    func restore(_ text: String) -> String {
        guard !originals.isEmpty, text.contains("[") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "["), let close = Self.closing(bytes, after: index, within: placeholderLengthMax),
               let original = originals[String(decoding: bytes[index...close], as: UTF8.self)] {
                out += original.utf8
                index = close + 1
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The index of the `]` that closes the `[` at `open`, when it comes within `lengthMax` bytes.
    private static func closing(_ bytes: [UInt8], after open: Int, within lengthMax: Int) -> Int? {
        let end = min(bytes.count, open + lengthMax)
        var index = open + 1
        while index < end {
            if bytes[index] == UInt8(ascii: "]") { return index }
            if bytes[index] == UInt8(ascii: "[") { return nil }
            index += 1
        }
        return nil
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
