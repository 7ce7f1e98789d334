/// A key a provider may read as one the gateway reads, spelled otherwise: `Model`,
/// `MAX_TOKENS`, `ſtream` (Go's `encoding/json` matches keys ignoring case, and folds `ſ`
/// to `s` and the Kelvin sign to `k`; its v2 case-insensitive mode also ignores `_` and
/// `-`). The gateway reads only the exact spelling, so such a key could carry a model, a
/// stream flag or a token limit it never checked; the body is refused with 400.
///
/// Only the keys the gateway reads are guarded, where it reads them: user-defined maps
/// (tool schemas, `metadata`) may hold `ID` beside `id`, and DLP scans their values anyway.
enum KeyClash {
    /// Top-level keys the gateway reads (`RequestNumbers`, routing, translation, DLP).
    static let topLevel: Set<String> = [
        "model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "n", "dimensions", "temperature", "messages", "system",
        "input", "tools", "tool_choice", "stop", "stop_sequences",
    ]
    /// Keys read inside `stream_options` and inside each of `messages`.
    static let streamOptions: Set<String> = ["include_usage"]
    static let messageKeys: Set<String> = ["role", "content", "tool_calls", "tool_call_id"]

    /// The first key of `body` that folds to a guarded key without being it, with that
    /// key; nil when there is none.
    static func find(in body: [String: Any]) -> (sent: String, meant: String)? {
        if let clash = variant(in: body, of: foldedTopLevel) { return clash }
        if let options = body["stream_options"] as? [String: Any], let clash = variant(in: options, of: foldedStreamOptions) { return clash }
        for case let message as [String: Any] in body["messages"] as? [Any] ?? [] {
            if let clash = variant(in: message, of: foldedMessageKeys) { return clash }
        }
        return nil
    }

    /// Each guarded set by folded spelling, folded once.
    private static let foldedTopLevel = folded(topLevel)
    private static let foldedStreamOptions = folded(streamOptions)
    private static let foldedMessageKeys = folded(messageKeys)

    private static func folded(_ keys: Set<String>) -> [String: String] {
        Dictionary(keys.map { (fold($0), $0) }, uniquingKeysWith: { first, _ in first })
    }

    private static func variant(in object: [String: Any], of guarded: [String: String]) -> (sent: String, meant: String)? {
        for key in object.keys {
            if let meant = guarded[fold(key)], meant != key { return (key, meant) }
        }
        return nil
    }

    /// `key` as Go may match it: ASCII letters lowercased, `ſ` as `s`, the Kelvin sign as
    /// `k`, `_` and `-` dropped.
    static func fold(_ key: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in key.unicodeScalars {
            switch scalar {
            case "A"..."Z": out.append(Unicode.Scalar(UInt8(truncatingIfNeeded: scalar.value) | 0x20))
            case "\u{17F}": out.append("s")
            case "\u{212A}": out.append("k")
            case "_", "-": continue
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    static func refusal(_ clash: (sent: String, meant: String)) -> GatewayError {
        .invalid("the body holds '\(clash.sent.prefix(40))', which some providers read as '\(clash.meant)'; spell it '\(clash.meant)' exactly", param: clash.meant)
    }
}
