import Foundation
import HTTPTypes
import Policy
/// A JSON Schema subset (OpenAPI 3.1) describing admin bodies and answers. The admin API
/// checks request bodies against it (unknown fields are refused) and `/openapi.json` is
/// rendered from it, so the documentation cannot drift from what is accepted.
public indirect enum Schema: Sendable {
    case string(description: String? = nil, allowed: [String]? = nil)
    case integer(description: String? = nil)
    case number(description: String? = nil)
    case boolean(description: String? = nil)
    case array(Schema, description: String? = nil)
    /// An object with exactly these properties (no others accepted).
    case object([Property])
    /// An object with free keys and values of one schema.
    case map(Schema, description: String? = nil)
    /// A named schema of `components.schemas`.
    case reference(String)
    /// A schema with the bounds the validation enforces, so that the document (and the
    /// tools that generate requests from it) know them: an id's prefix, a number's range.
    case constrained(Schema, Constraints)

    /// Bounds of a string or a number, as JSON Schema states them.
    public struct Constraints: Sendable {
        public var minimum: Double?
        public var maximum: Double?
        public var pattern: String?
        public var maxLength: Int?
        /// Arrays: at least this many items, at most that many, none twice.
        public var minItems: Int?
        public var maxItems: Int?
        public var uniqueItems = false
        /// Objects: properties that may not be given together (one group each).
        public var exclusive: [[String]] = []
        /// Objects: at least one of these groups must be given whole.
        public var oneOfGroups: [[String]] = []

        public init(
            minimum: Double? = nil, maximum: Double? = nil, pattern: String? = nil, maxLength: Int? = nil,
            minItems: Int? = nil, maxItems: Int? = nil, uniqueItems: Bool = false, exclusive: [[String]] = [],
            oneOfGroups: [[String]] = []
        ) {
            self.minimum = minimum
            self.maximum = maximum
            self.pattern = pattern
            self.maxLength = maxLength
            self.minItems = minItems
            self.maxItems = maxItems
            self.uniqueItems = uniqueItems
            self.exclusive = exclusive
            self.oneOfGroups = oneOfGroups
        }
    }

    /// The schema without its constraints.
    public var base: Schema {
        if case let .constrained(inner, _) = self { return inner.base }
        return self
    }

    /// True for a string schema (of any allowed values).
    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    /// An integer from `range`.
    static func integer(_ range: ClosedRange<Int64>, _ description: String? = nil) -> Schema {
        .constrained(.integer(description: description), Constraints(minimum: Double(range.lowerBound), maximum: Double(range.upperBound)))
    }

    /// A number from `range`.
    static func number(_ range: ClosedRange<Double>, _ description: String? = nil) -> Schema {
        .constrained(.number(description: description), Constraints(minimum: range.lowerBound, maximum: range.upperBound))
    }

    /// An id that starts with one of `prefixes` (as `Check.id` demands).
    static func id(_ prefixes: [String], _ description: String? = nil) -> Schema {
        let alternatives = prefixes.map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "|")
        return .constrained(.string(description: description), Constraints(pattern: "^(\(alternatives))[^\\s\\x00-\\x1f]+$", maxLength: Check.idBytesMax))
    }

    /// A plain id (`Check.plainID`): not empty, no spaces or control characters.
    static func plainID(_ description: String? = nil) -> Schema {
        .constrained(.string(description: description), Constraints(pattern: "^[^\\s\\x00-\\x1f\\x7f]+$", maxLength: Check.idBytesMax))
    }

    /// Free text (`Check.text`): no control characters but newlines and tabs; not empty
    /// when `required`.
    static func freeText(_ description: String? = nil, required: Bool = false) -> Schema {
        let pattern = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f]" + (required ? "+$" : "*$")
        return .constrained(.string(description: description), Constraints(pattern: pattern, maxLength: Check.textBytesMax))
    }

    /// A lower-case slug (`Check.slug`).
    static func slug(_ description: String? = nil) -> Schema {
        .constrained(.string(description: description), Constraints(pattern: "^[a-z0-9-]{1,64}$"))
    }

    /// A node id as the cluster endpoints take it: `3` or `n3`.
    static func nodeID(_ description: String) -> Schema {
        .constrained(.string(description: description), Constraints(pattern: "^n?[1-9][0-9]{0,18}$"))
    }

    /// A list of `items` with `Check.count`'s bound, at least `minimum` long, and no entry
    /// twice when `unique` (`Check.unique`).
    static func list(
        _ items: Schema, minimum: Int = 0, maximum: Int = Check.listLengthMax, unique: Bool = false, _ description: String? = nil
    ) -> Schema {
        .constrained(.array(items, description: description), Constraints(
            minItems: minimum > 0 ? minimum : nil, maxItems: maximum, uniqueItems: unique))
    }

    /// An object in which the properties of each group of `exclusive` may not all be given,
    /// and in which one group of `oneOf` must be given whole (when any are named).
    static func object(_ properties: [Property], exclusive: [[String]], oneOf: [[String]] = []) -> Schema {
        .constrained(.object(properties), Constraints(exclusive: exclusive, oneOfGroups: oneOf))
    }

    /// One property of an object.
    public struct Property: Sendable {
        public var name: String
        public var schema: Schema
        public var required: Bool
        public var nullable: Bool

        public init(_ name: String, _ schema: Schema, required: Bool = false, nullable: Bool = false) {
            self.name = name
            self.schema = schema
            self.required = required
            self.nullable = nullable
        }
    }

    /// The schema as OpenAPI 3.1 JSON (a JSON Schema 2020-12 dialect).
    func json(nullable: Bool = false) -> JSONValue {
        var out: [String: JSONValue]
        func typed(_ name: String) -> JSONValue { nullable ? .array([.string(name), .string("null")]) : .string(name) }
        func describe(_ d: String?) { if let d { out["description"] = .string(d) } }
        switch self {
        case let .string(description, allowed):
            out = ["type": typed("string")]
            describe(description)
            if let allowed { out["enum"] = .array(allowed.map(JSONValue.string) + (nullable ? [.null] : [])) }
        case let .integer(description):
            out = ["type": typed("integer")]
            describe(description)
        case let .number(description):
            out = ["type": typed("number")]
            describe(description)
        case let .boolean(description):
            out = ["type": typed("boolean")]
            describe(description)
        case let .array(items, description):
            out = ["type": typed("array"), "items": items.json()]
            describe(description)
        case let .object(properties):
            out = ["type": typed("object"), "additionalProperties": .bool(false)]
            out["properties"] = .object(Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.schema.json(nullable: $0.nullable)) }))
            let required = properties.filter(\.required).map { JSONValue.string($0.name) }
            if !required.isEmpty { out["required"] = .array(required) }
        case let .map(values, description):
            out = ["type": typed("object"), "additionalProperties": values.json()]
            describe(description)
        case let .reference(name):
            let ref: JSONValue = .object(["$ref": .string("#/components/schemas/\(name)")])
            return nullable ? .object(["oneOf": .array([ref, .object(["type": .string("null")])])]) : ref
        case let .constrained(inner, constraints):
            guard case var .object(fields) = inner.json(nullable: nullable) else { return inner.json(nullable: nullable) }
            if let minimum = constraints.minimum { fields["minimum"] = .number(minimum) }
            if let maximum = constraints.maximum { fields["maximum"] = .number(maximum) }
            if let pattern = constraints.pattern { fields["pattern"] = .string(pattern) }
            if let maxLength = constraints.maxLength { fields["maxLength"] = .number(Double(maxLength)) }
            if let minItems = constraints.minItems { fields["minItems"] = .number(Double(minItems)) }
            if let maxItems = constraints.maxItems { fields["maxItems"] = .number(Double(maxItems)) }
            if constraints.uniqueItems { fields["uniqueItems"] = .bool(true) }
            if !constraints.exclusive.isEmpty {
                fields["not"] = .object(["anyOf": .array(constraints.exclusive.map { .object(["required": .array($0.map(JSONValue.string))]) })])
            }
            if !constraints.oneOfGroups.isEmpty {
                fields["anyOf"] = .array(constraints.oneOfGroups.map { .object(["required": .array($0.map(JSONValue.string))]) })
            }
            return .object(fields)
        }
        return .object(out)
    }
}

/// A JSON value, for building documents whose shape is not a Swift type.
public enum JSONValue: Sendable, Equatable, Encodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}
