import Foundation
import NIOCore

/// The top-level members of a JSON object, found in its bytes without decoding them: where
/// each key and value lies. It lets the gateway forward a client's body with surgical
/// edits (the upstream model name, the stream flags) instead of decoding it into a
/// dictionary and encoding it again, and read one member of an answer (its usage) without
/// decoding the rest.
///
/// The bytes have already been accepted by a full JSON parse; the scanner only has to be
/// safe on anything else: it never traps, never recurses, and answers nil for whatever it
/// does not understand, so that the caller falls back to the full parse. A key holding an
/// escape is such a case (`"mod\u0065l"` is `model` to every parser), and so is a key seen
/// twice (parsers disagree on which one wins).
struct JSONMembers {
    struct Member: Equatable {
        /// The key's bytes, without its quotes (it holds no escape).
        let key: ArraySlice<UInt8>
        /// The value's bytes, exactly as sent.
        let value: Range<Int>
    }

    let bytes: [UInt8]
    let members: [Member]
    /// Where the object's closing brace is.
    let end: Int

    /// The members of the object in `bytes`, or nil when `bytes` is not one JSON object
    /// this scanner reads exactly (see the type's comment).
    init?(_ bytes: [UInt8]) {
        var members: [Member] = []
        var at = Self.skipSpace(bytes, 0)
        guard at < bytes.count, bytes[at] == UInt8(ascii: "{") else { return nil }
        at = Self.skipSpace(bytes, at + 1)
        var end: Int?
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { end = at }
        while end == nil {
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let keyEnd = Self.stringEnd(bytes, at) else { return nil }
            let key = bytes[(at + 1)..<(keyEnd - 1)]
            guard !key.contains(UInt8(ascii: "\\")) else { return nil }
            at = Self.skipSpace(bytes, keyEnd)
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
            let valueStart = Self.skipSpace(bytes, at + 1)
            guard let valueEnd = Self.valueEnd(bytes, valueStart) else { return nil }
            members.append(Member(key: key, value: valueStart..<valueEnd))
            at = Self.skipSpace(bytes, valueEnd)
            guard at < bytes.count else { return nil }
            if bytes[at] == UInt8(ascii: ",") {
                at = Self.skipSpace(bytes, at + 1)
            } else if bytes[at] == UInt8(ascii: "}") {
                end = at
            } else {
                return nil
            }
        }
        guard let end, Self.skipSpace(bytes, end + 1) == bytes.count else { return nil }
        // A key seen twice: which one counts differs between parsers.
        var seen = Set<ArraySlice<UInt8>>()
        for member in members where !seen.insert(member.key).inserted { return nil }
        self.bytes = bytes
        self.members = members
        self.end = end
    }

    /// The bytes of `key`'s value, if the object has that member.
    func value(_ key: String) -> ArraySlice<UInt8>? {
        let wanted = Array(key.utf8)
        return members.first { $0.key.elementsEqual(wanted) }.map { bytes[$0.value] }
    }

    /// The object with each member of `changes` set to its (already encoded) value: a
    /// member the object has is replaced in place, one it lacks is added at its end.
    /// Everything else is kept byte for byte.
    func setting(_ changes: [(key: String, value: [UInt8])]) -> [UInt8] {
        var replacements: [(range: Range<Int>, value: [UInt8])] = []
        var added: [UInt8] = []
        for change in changes {
            let wanted = Array(change.key.utf8)
            if let member = members.first(where: { $0.key.elementsEqual(wanted) }) {
                replacements.append((member.value, change.value))
            } else {
                if !members.isEmpty || !added.isEmpty { added.append(UInt8(ascii: ",")) }
                added += Self.encodeString(change.key) + [UInt8(ascii: ":")] + change.value
            }
        }
        replacements.sort { $0.range.lowerBound < $1.range.lowerBound }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + added.count + replacements.reduce(0) { $0 + $1.value.count })
        var from = 0
        for replacement in replacements {
            out += bytes[from..<replacement.range.lowerBound]
            out += replacement.value
            from = replacement.range.upperBound
        }
        out += bytes[from..<end]
        out += added
        out += bytes[end...]
        return out
    }

    /// `text` as a JSON string: quotes, with `"`, `\` and control characters escaped.
    static func encodeString(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 2)
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    // MARK: Scanning

    static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
        var at = start
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x09, 0x0A, 0x0D: at += 1
            default: return at
            }
        }
        return at
    }

    /// The index just past the string that opens at `start` (a quote), or nil.
    static func stringEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        var at = start + 1
        while at < bytes.count {
            switch bytes[at] {
            case UInt8(ascii: "\""): return at + 1
            case UInt8(ascii: "\\"): at += 2
            default: at += 1
            }
        }
        return nil
    }

    /// The index just past the value that starts at `start`, or nil. Nested objects and
    /// arrays are skipped with a depth count, not recursion.
    static func valueEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        var at = start
        var depth = 0
        repeat {
            guard at < bytes.count else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "\""):
                guard let end = stringEnd(bytes, at) else { return nil }
                at = end
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                at += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { return nil }
                depth -= 1
                at += 1
            default:
                guard depth > 0 || isScalarByte(bytes[at]) else { return nil }
                at += 1
                if depth == 0 {
                    while at < bytes.count, isScalarByte(bytes[at]) { at += 1 }
                }
            }
        } while depth > 0
        return at
    }

    /// A byte of a number or of `true`, `false`, `null`.
    private static func isScalarByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
             UInt8(ascii: "E"):
            true
        default: false
        }
    }
}

/// The usage member of a provider's answer, read without decoding the rest of it.
struct AnswerUsage {
    /// The answer's `usage` object, nil when it has none or it is `null`.
    let usage: [String: Any]?

    /// Nil when the answer is not an object the scanner reads, or its usage is neither an
    /// object nor `null`: then the caller decodes the whole answer and judges it.
    static func scan(_ answer: ByteBuffer) -> AnswerUsage? {
        guard let members = JSONMembers(Array(answer.readableBytesView)) else { return nil }
        guard let value = members.value("usage") else { return AnswerUsage(usage: nil) }
        if value.elementsEqual("null".utf8) { return AnswerUsage(usage: nil) }
        guard let usage = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] else { return nil }
        return AnswerUsage(usage: usage)
    }
}
