import Policy
import HTTPTypes
import Foundation
import Hummingbird
import NIOCore

/// Reads admin request bodies strictly: a size limit, a nesting limit, JSON objects only,
/// no unknown fields (checked against the body's `Schema`), and type errors that name the
/// field. Nothing is applied unless the whole body is acceptable.
enum AdminBodyDecoder {
    /// The largest admin request body accepted.
    static let bodyBytesMax = 256 * 1024
    /// The deepest nesting of arrays and objects accepted.
    static let depthMax = 16

    static func decode<Body: Decodable>(_ type: Body.Type, schema: Schema, from request: Request) async throws -> Body {
        try decode(type, schema: schema, bytes: try await collect(request))
    }

    /// The body's bytes, refused past `bodyBytesMax`.
    static func collect(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: bodyBytesMax).readableBytesView)
        } catch {
            throw AdminError(.contentTooLarge, "payload_too_large", "the body is larger than \(bodyBytesMax) bytes; split the change")
        }
    }

    static func decode<Body: Decodable>(_ type: Body.Type, schema: Schema, bytes: [UInt8]) throws -> Body {
        guard !bytes.isEmpty else { throw AdminError.invalid("the body is empty; send a JSON object") }
        guard depth(of: bytes) <= depthMax else { throw AdminError.invalid("the body nests deeper than \(depthMax) levels") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            throw AdminError.invalid("the body is not valid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else { throw AdminError.invalid("the body must be a JSON object") }
        try checkFields(object, against: schema, path: "")
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    /// Refuses fields the schema does not name, in nested objects too.
    private static func checkFields(_ object: [String: Any], against schema: Schema, path: String) throws {
        guard case let .object(properties) = schema.base else { return }
        let known = Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.schema) })
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let child = known[key] else {
                let names = properties.map(\.name).sorted().joined(separator: ", ")
                throw AdminError.invalid("unknown field '\(path)\(key)'; the fields are: \(names)", field: path + key)
            }
            if let nested = value as? [String: Any] { try checkFields(nested, against: child, path: "\(path)\(key).") }
            if case let .array(items, _) = child.base, let list = value as? [Any] {
                for case let nested as [String: Any] in list { try checkFields(nested, against: items, path: "\(path)\(key).") }
            }
        }
    }

    private static func describe(_ error: DecodingError) -> AdminError {
        func name(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case let .typeMismatch(type, context):
            let field = name(context.codingPath)
            return .invalid("\(field): expected \(jsonName(type))", field: field)
        case let .valueNotFound(type, context):
            let field = name(context.codingPath)
            return .invalid("\(field): expected \(jsonName(type)), got null", field: field)
        case let .keyNotFound(key, context):
            let field = name(context.codingPath + [key])
            return .invalid("\(field) is required", field: field)
        case let .dataCorrupted(context):
            let field = name(context.codingPath)
            return .invalid("\(field.isEmpty ? "body" : field): \(context.debugDescription)", field: field.isEmpty ? nil : field)
        @unknown default:
            return .invalid("the body does not match the expected shape")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "an array" : (String(describing: type).hasPrefix("Dictionary") ? "an object" : "a value of another type")
        }
    }

    /// The deepest nesting of `[` and `{` outside strings.
    static func depth(of bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}
