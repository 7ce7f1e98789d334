import Foundation
import NIOCore

/// The top-level members of a JSON object, found in its bytes without decoding them: where
/// each key and value lies. It lets the gateway forward a client's body with surgical
/// edits (the upstream model name, the stream flags) instead of decoding it into a
/// dictionary and encoding it again, and read one member of an answer (its usage) without
/// decoding the rest.
///
/// `StrictJSONScan` reads the bytes and declines (nil) whatever two common parsers could
/// read differently; the caller then decodes and encodes anew. It never traps and never
/// recurses.
struct JSONMembers {
    struct Member: Equatable {
        /// The key's bytes, without its quotes (plain ASCII, no escape).
        let key: ArraySlice<UInt8>
        /// The value's bytes, exactly as sent.
        let value: Range<Int>
    }

    let bytes: [UInt8]
    let members: [Member]
    /// Where the object's closing brace is.
    let end: Int

    /// The members of the object in `bytes`, or nil when `StrictJSONScan` declines it.
    init?(_ bytes: [UInt8]) {
        guard let scan = StrictJSONScan(bytes) else { return nil }
        self.bytes = bytes
        members = scan.members
        end = scan.end
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
