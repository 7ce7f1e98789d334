/// A strict, non-recursive pass over a JSON object that finds its top-level members and
/// refuses everything on which two common parsers could read the bytes differently:
///
/// - anything RFC 8259 does not allow (trailing commas, bare words, leading zeros, raw
///   control characters in strings, bad escapes, invalid UTF-8, a byte-order mark), and
///   what parsers treat differently within it (a lone surrogate escape, a number longer
///   than `numberBytesMax` or beyond a double, nesting deeper than `depthMax`);
/// - a key that is not plain ASCII, or that holds an escape (`"mod\u0065l"`): Foundation
///   merges canonically equivalent keys, and Go matches keys by Unicode case folding;
/// - two keys of one object, at any depth, that are equal ignoring ASCII case (first-wins
///   and last-wins parsers disagree on duplicates, and Go reads `Model` as `model`).
///
/// What it refuses is forwarded the slow way: decoded and encoded anew, so the provider
/// reads exactly what the gateway read.
struct StrictJSONScan {
    /// The top-level members: each key's bytes and its value's range.
    private(set) var members: [JSONMembers.Member] = []
    /// Where the top-level object's closing brace is.
    private(set) var end = 0

    /// Keys an object may hold before their duplicate check moves to a set.
    private static let linearKeysMax = 16
    /// Nesting beyond this is declined (Foundation refuses past 512).
    static let depthMax = 500
    /// A number's text longer than this is declined: parsers differ in how many digits they
    /// keep (Foundation's decimals hold 38), and nothing the gateway reads needs more.
    static let numberBytesMax = 32

    private struct Frame {
        let isObject: Bool
        var keys: [[UInt8]] = []
        var keySet: Set<[UInt8]>?

        /// Records `folded`; false when the object already has it.
        mutating func insert(_ folded: [UInt8]) -> Bool {
            if keySet == nil, keys.count < StrictJSONScan.linearKeysMax {
                if keys.contains(folded) { return false }
                keys.append(folded)
                return true
            }
            var set = keySet ?? Set(keys)
            defer { keySet = set }
            return set.insert(folded).inserted
        }
    }

    private enum Expect { case value, key, afterValue }

    init?(_ bytes: [UInt8]) {
        let n = bytes.count
        var at = Self.skipSpace(bytes, 0)
        guard at < n, bytes[at] == UInt8(ascii: "{") else { return nil }
        var stack: [Frame] = []
        var expect = Expect.value
        var pending: (key: ArraySlice<UInt8>, start: Int)?
        while true {
            at = Self.skipSpace(bytes, at)
            switch expect {
            case .value:
                guard at < n else { return nil }
                switch bytes[at] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = bytes[at] == UInt8(ascii: "{")
                    guard stack.count < Self.depthMax else { return nil }
                    stack.append(Frame(isObject: isObject))
                    at = Self.skipSpace(bytes, at + 1)
                    if at < n, bytes[at] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                        if stack.count == 1 { end = at }
                        stack.removeLast()
                        at += 1
                        expect = .afterValue
                    } else {
                        expect = isObject ? .key : .value
                    }
                    continue
                case UInt8(ascii: "\""):
                    guard let next = Self.stringEnd(bytes, at) else { return nil }
                    at = next
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    guard let next = Self.literalEnd(bytes, at) else { return nil }
                    at = next
                default:
                    guard let next = Self.numberEnd(bytes, at) else { return nil }
                    at = next
                }
                expect = .afterValue
            case .key:
                guard at < n, bytes[at] == UInt8(ascii: "\""), let keyEnd = Self.stringEnd(bytes, at) else { return nil }
                let key = bytes[(at + 1)..<(keyEnd - 1)]
                // Plain ASCII without escapes, and new in its object ignoring case.
                guard key.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\\") }),
                      stack[stack.count - 1].insert(key.map { $0 | (($0 >= 0x41 && $0 <= 0x5A) ? 0x20 : 0) })
                else { return nil }
                at = Self.skipSpace(bytes, keyEnd)
                guard at < n, bytes[at] == UInt8(ascii: ":") else { return nil }
                at = Self.skipSpace(bytes, at + 1)
                if stack.count == 1 { pending = (key, at) }
                expect = .value
            case .afterValue:
                if stack.count == 1, let member = pending {
                    members.append(JSONMembers.Member(key: member.key, value: member.start..<Self.trimmedEnd(bytes, at)))
                    pending = nil
                }
                guard let top = stack.last else {
                    // The top-level object closed: nothing but whitespace may follow.
                    guard at == n else { return nil }
                    return
                }
                guard at < n else { return nil }
                switch bytes[at] {
                case UInt8(ascii: ","):
                    at += 1
                    expect = top.isObject ? .key : .value
                case UInt8(ascii: "}") where top.isObject, UInt8(ascii: "]") where !top.isObject:
                    if stack.count == 1 { end = at }
                    stack.removeLast()
                    at += 1
                default:
                    return nil
                }
            }
        }
    }

    // MARK: Tokens

    static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
        var at = start
        while at < bytes.count, isSpace(bytes[at]) { at += 1 }
        return at
    }

    /// JSON's four whitespace bytes.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `at` moved back over whitespace (a member's value ends before it).
    private static func trimmedEnd(_ bytes: [UInt8], _ at: Int) -> Int {
        var end = at
        while end > 0, isSpace(bytes[end - 1]) { end -= 1 }
        return end
    }

    /// Just past the string opening at `start`, or nil: escapes checked, no raw control
    /// character, UTF-8 well formed.
    static func stringEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        var at = start + 1
        while at < bytes.count {
            let byte = bytes[at]
            switch byte {
            case UInt8(ascii: "\""):
                return at + 1
            case UInt8(ascii: "\\"):
                guard at + 1 < bytes.count else { return nil }
                switch bytes[at + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                     UInt8(ascii: "r"), UInt8(ascii: "t"):
                    at += 2
                case UInt8(ascii: "u"):
                    // A surrogate escape comes in a pair, high then low (parsers differ on lone ones).
                    guard let unit = hexUnit(bytes, at + 2) else { return nil }
                    at += 6
                    if (0xDC00...0xDFFF).contains(unit) { return nil }
                    if (0xD800...0xDBFF).contains(unit) {
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u"),
                              let low = hexUnit(bytes, at + 2), (0xDC00...0xDFFF).contains(low) else { return nil }
                        at += 6
                    }
                default:
                    return nil
                }
            case 0..<0x20:
                return nil
            case 0x80...:
                guard let next = utf8SequenceEnd(bytes, at) else { return nil }
                at = next
            default:
                at += 1
            }
        }
        return nil
    }

    /// Just past the well-formed UTF-8 sequence at `at` (no overlong form, no surrogate,
    /// nothing past U+10FFFF), or nil.
    private static func utf8SequenceEnd(_ bytes: [UInt8], _ at: Int) -> Int? {
        let lead = bytes[at]
        let (count, low, high): (Int, UInt8, UInt8) = switch lead {
        case 0xC2...0xDF: (1, 0x80, 0xBF)
        case 0xE0: (2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (2, 0x80, 0xBF)
        case 0xED: (2, 0x80, 0x9F)
        case 0xF0: (3, 0x90, 0xBF)
        case 0xF1...0xF3: (3, 0x80, 0xBF)
        case 0xF4: (3, 0x80, 0x8F)
        default: (0, 0, 0)
        }
        guard count > 0, at + count < bytes.count, (low...high).contains(bytes[at + 1]) else { return nil }
        for index in (at + 2)..<(at + 1 + count) where !(0x80...0xBF).contains(bytes[index]) { return nil }
        return at + 1 + count
    }

    /// The four hex digits at `start` as a UTF-16 unit, or nil.
    private static func hexUnit(_ bytes: [UInt8], _ start: Int) -> UInt16? {
        guard start + 4 <= bytes.count else { return nil }
        var unit: UInt16 = 0
        for byte in bytes[start..<(start + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// Just past `true`, `false` or `null` at `start`, or nil.
    private static func literalEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        for literal in ["true", "false", "null"] where bytes[start...].starts(with: literal.utf8) {
            return start + literal.utf8.count
        }
        return nil
    }

    /// Just past the number at `start` (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`),
    /// or nil.
    static func numberEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        var at = start
        func digits() -> Int {
            let from = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            return at - from
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count else { return nil }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
        } else {
            guard digits() > 0 else { return nil }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { return nil }
        }
        let exponent = at < bytes.count && (bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E"))
        if exponent {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { return nil }
        }
        // Short, and finite as a double (1e400 is refused by Foundation, infinity elsewhere;
        // without an exponent, 32 digits are always finite).
        guard at - start <= numberBytesMax else { return nil }
        if exponent, Double(String(decoding: bytes[start..<at], as: UTF8.self))?.isFinite != true { return nil }
        return at
    }
}
