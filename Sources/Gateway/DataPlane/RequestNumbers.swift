import Foundation
import Policy

/// The fields of a client's request body that the gateway itself reads and computes with,
/// checked at the boundary into typed values with named limits. Everything else in the
/// body is the provider's to judge and passes through untouched.
///
/// A value out of range or of the wrong type is a 400 in the endpoint's dialect naming the
/// field and the limit, never a trap further on (a `max_tokens` of 2^63 − 1 once overflowed
/// the reservation's arithmetic and killed the node).
struct RequestNumbers: Sendable, Equatable {
    /// The largest `max_tokens` or `max_completion_tokens` accepted (`Deployment.outputTokensMax`).
    static let outputTokensMax = Deployment.outputTokensMax
    /// The largest `n` (choices per chat request) accepted, as OpenAI's own limit.
    static let choicesMax = 128
    /// The largest `dimensions` of an embeddings request accepted.
    static let dimensionsMax = 65_536
    /// The longest `model` accepted, in UTF-8 bytes (it is stored in every usage event).
    static let modelBytesMax = 256

    /// The model asked for.
    var model: String
    /// The output limit the request names (`max_completion_tokens`, else `max_tokens`).
    var outputTokens: Int?
    /// How many choices a chat request asks for (`n`, default 1).
    var choices: Int
    /// Whether the answer is streamed.
    var stream: Bool

    /// Reads and checks the fields; throws a 400 naming the first bad one.
    static func read(_ body: [String: Any], endpoint: ClientEndpoint) throws(GatewayError) -> RequestNumbers {
        let model = try modelName(body["model"])
        let completion = try integer(body, "max_completion_tokens", in: 1...outputTokensMax, limit: "outputTokensMax")
        let maxTokens = try integer(body, "max_tokens", in: 1...outputTokensMax, limit: "outputTokensMax")
        let choices = try integer(body, "n", in: 1...choicesMax, limit: "choicesMax") ?? 1
        if endpoint == .embeddings { _ = try integer(body, "dimensions", in: 1...dimensionsMax, limit: "dimensionsMax") }
        var stream = false
        if let value = body["stream"], !(value is NSNull) {
            guard let flag = JSONField.boolean(value) else { throw GatewayError.invalid("stream must be true or false", param: "stream") }
            stream = flag && endpoint != .embeddings
        }
        return RequestNumbers(model: model, outputTokens: completion ?? maxTokens, choices: choices, stream: stream)
    }

    private static func modelName(_ value: Any?) throws(GatewayError) -> String {
        guard let model = value as? String, !model.isEmpty else { throw GatewayError.invalid("model is required: a model name as a string", param: "model") }
        guard model.utf8.count <= modelBytesMax else {
            throw GatewayError.invalid("model is \(model.utf8.count) bytes long; at most \(modelBytesMax) are allowed (modelBytesMax)", param: "model")
        }
        guard !model.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw GatewayError.invalid("model contains control characters", param: "model")
        }
        return model
    }

    /// The integer at `key` within `range`, nil when absent or null.
    private static func integer(_ body: [String: Any], _ key: String, in range: ClosedRange<Int>, limit: String) throws(GatewayError) -> Int? {
        guard let value = body[key], !(value is NSNull) else { return nil }
        guard let number = JSONField.integer(value), range.contains(number) else {
            throw GatewayError.invalid(
                "\(key) must be an integer from \(range.lowerBound) to \(range.upperBound) (\(limit)); got \(JSONField.describe(value))", param: key)
        }
        return number
    }
}

/// Safe readings of values from `JSONSerialization`, which hands numbers over as
/// `NSNumber` (booleans too) and huge ones as `NSDecimalNumber`.
enum JSONField {
    /// The value as an `Int` when it is a JSON number that is exactly a whole number in
    /// range: never a boolean, never a rounded or wrapped double (`NSNumber.intValue`
    /// wraps 1e300 to a negative number).
    static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
        return value as? Int
    }

    /// The value as a `Bool` when it is a JSON boolean.
    static func boolean(_ value: Any) -> Bool? {
        guard let number = value as? NSNumber, isBoolean(number) else { return nil }
        return number.boolValue
    }

    /// Whether an `NSNumber` from `JSONSerialization` stands for `true` or `false`.
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// `value`'s JSON bytes, nil when it has none. `JSONSerialization.data` traps (it
    /// does not throw) on a top-level value that is no array or object, and values here
    /// come from clients and providers (a `tool_use.input` of 1 once killed the node).
    static func encode(_ value: Any, sorted: Bool = false) -> Data? {
        var options: JSONSerialization.WritingOptions = sorted ? [.sortedKeys] : []
        if value is [Any] || value is [String: Any] {
            guard JSONSerialization.isValidJSONObject(value) else { return nil }
        } else {
            guard JSONSerialization.isValidJSONObject([value]) else { return nil }
            options.insert(.fragmentsAllowed)
        }
        return try? JSONSerialization.data(withJSONObject: value, options: options)
    }

    /// A short description of a bad value for an error message.
    static func describe(_ value: Any) -> String {
        switch value {
        case let text as String: "the string '\(text.prefix(40))'"
        case let number as NSNumber: isBoolean(number) ? "a boolean" : "\(number)".prefix(40).description
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "a value of another type"
        }
    }
}

/// Token counts a provider reports, checked before they reach a counter: a provider is
/// outside the trust boundary too (a negative `prompt_tokens` once reached a precondition).
enum ReportedTokens {
    /// The largest token count one answer may report; beyond it the report is not believed.
    static let countMax = 100_000_000

    /// The count at `key` of `usage` when it is a whole number from 0 to `countMax`, else
    /// nil (the caller falls back to its estimate).
    static func read(_ usage: [String: Any]?, _ keys: String...) -> Int? {
        guard let usage else { return nil }
        for key in keys {
            guard let value = usage[key] else { continue }
            guard let count = JSONField.integer(value), (0...countMax).contains(count) else { return nil }
            return count
        }
        return nil
    }
}
