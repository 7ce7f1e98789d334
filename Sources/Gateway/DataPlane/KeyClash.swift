/// Two keys of one object that some provider reads as one field: equal after Unicode case
/// folding (Go's `encoding/json` matches `Model`, `MODEL` and `ſ`-spellings to `model`, the
/// later one winning). The gateway reads the exact spelling, so such a body could carry a
/// model, a token limit or a message the gateway never checked; it is refused.
enum KeyClash {
    /// The first clashing pair found in `value`, at any depth, or nil.
    static func find(in value: Any) -> (String, String)? {
        switch value {
        case let object as [String: Any]:
            var seen: [String: String] = [:]
            for key in object.keys {
                let folded = key.uppercased().lowercased()
                if let other = seen[folded] { return other < key ? (other, key) : (key, other) }
                seen[folded] = key
            }
            for member in object.values {
                if let clash = find(in: member) { return clash }
            }
        case let list as [Any]:
            for element in list {
                if let clash = find(in: element) { return clash }
            }
        default:
            break
        }
        return nil
    }

    static func refusal(_ clash: (String, String)) -> GatewayError {
        .invalid("the body holds both '\(clash.0.prefix(40))' and '\(clash.1.prefix(40))' in one object; providers may read them as one field, so send each field once with its exact name")
    }
}
