import Foundation

/// What `mockllm` says: deterministic text cut into tokens, and token counts.
enum MockReply {
    /// A user message starting with this makes the reply repeat the rest of it.
    static let echoPrefix = "/echo "

    /// The reply's tokens: an echo of the last user message after `/echo `, cut into
    /// pieces of three characters (so placeholders split across chunks), or a fixed
    /// sentence padded with words to `count` tokens.
    static func tokens(model: String, lastUserText: String?, count: Int) -> [String] {
        if let text = lastUserText, text.hasPrefix(echoPrefix) {
            let echoed = Array(text.dropFirst(echoPrefix.count))
            return stride(from: 0, to: echoed.count, by: 3).map { String(echoed[$0..<min($0 + 3, echoed.count)]) }
        }
        let opening = ["This", " is", " mockllm", " answering", " \(model)", "."]
        return (0..<max(count, 0)).map { $0 < opening.count ? opening[$0] : " lorem" }
    }

    /// About one token per four UTF-8 bytes, at least one.
    static func estimateTokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    /// A deterministic unit-ish vector for `text` (FNV-1a seeded, then a xorshift walk).
    static func embedding(_ text: String, dimensions: Int) -> [Double] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return (0..<dimensions).map { _ in
            hash ^= hash << 13
            hash ^= hash >> 7
            hash ^= hash << 17
            return (Double(hash % 2_000_001) / 1_000_000 - 1).rounded(toPlaces: 6)
        }
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

/// A JSON object read loosely: the simulator accepts whatever clients send.
struct LooseJSON: @unchecked Sendable {
    let object: [String: Any]

    init?(_ bytes: [UInt8]) {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        object = parsed
    }

    subscript(key: String) -> Any? { object[key] }
    func string(_ key: String) -> String? { object[key] as? String }
    func int(_ key: String) -> Int? { (object[key] as? NSNumber)?.intValue }
    func bool(_ key: String) -> Bool? { (object[key] as? NSNumber)?.boolValue }
    func objects(_ key: String) -> [[String: Any]] { object[key] as? [[String: Any]] ?? [] }

    /// The text of a message's content: a string, or the text parts of an array.
    static func text(of content: Any?) -> String {
        if let text = content as? String { return text }
        guard let parts = content as? [[String: Any]] else { return "" }
        return parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
    }

    /// All text of `messages` (and an Anthropic `system`), for the prompt count.
    var promptText: String {
        var pieces = objects("messages").map { Self.text(of: $0["content"]) }
        if let system = object["system"] { pieces.insert(Self.text(of: system), at: 0) }
        if let input = object["input"] as? String { pieces.append(input) }
        if let inputs = object["input"] as? [String] { pieces += inputs }
        return pieces.joined(separator: "\n")
    }

    /// The text of the last user message.
    var lastUserText: String? {
        objects("messages").last { ($0["role"] as? String) == "user" }.map { Self.text(of: $0["content"]) }
    }

    /// The serialized form of a JSON value built from dictionaries and arrays.
    static func encode(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
