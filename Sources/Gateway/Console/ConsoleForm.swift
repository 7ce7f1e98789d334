import Foundation
import HTTPTypes
import Policy

/// A console form over one admin endpoint. Its fields are the endpoint's own: the path's
/// `{id}`, the body schema's properties (a select for a closed set, a number box for a
/// number, lines for a map, a comma list for a list) and its query parameters. So a form
/// cannot ask for something the API refuses, and every hint is the API's description.
struct ConsoleForm {
    /// Names the form in `/admin/do/<id>` and in the page (`form-<id>`).
    var id: String
    var title: String
    var intro: String?
    var method: HTTPRequest.Method = .post
    /// The endpoint's path as documented (`/admin/api/aliases/{id}`).
    var api: String
    /// The fields shown, in order (after the path's); nil: all of them.
    var fields: [String]?
    var button: String
    /// A GET whose answer fills the fields (`{edit}` is the page's `edit` parameter).
    var prefill: String?
    /// The answer holds a secret shown this once (a token issued).
    var reveal = false

    /// One input of the form.
    struct Field {
        enum Kind: Equatable { case text, secret, number, integer, choice([String]), flag, list, lines, json, raw }
        enum Place { case path, body, query }
        var name: String
        var kind: Kind
        var place: Place
        var required: Bool
        var hint: String

        var label: String {
            if name == "q" { return "Search" }
            let words = name.split(separator: "_").map { word -> String in
                switch word {
                case "usd", "url", "id", "dlp", "ttl", "csv": word.uppercased()
                default: String(word)
                }
            }.joined(separator: " ")
            return words.prefix(1).uppercased() + words.dropFirst()
        }
    }

    /// The endpoint's fields, in the form's order.
    func fields(of endpoint: AdminEndpoint) -> [Field] {
        var all: [Field] = endpoint.path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
            Field(name: String($0.dropFirst().dropLast()), kind: .text, place: .path, required: true, hint: "")
        }
        switch endpoint.body?.base {
        case let .object(properties)?:
            all += properties.map { Field(name: $0.name, kind: Self.kind($0.name, $0.schema), place: .body, required: $0.required, hint: Self.hint($0.schema)) }
        case .string?:
            all.append(Field(name: "body", kind: .raw, place: .body, required: true, hint: Self.hint(endpoint.body!)))
        default: break
        }
        let paging: Set = ["cursor", "limit", "consistent"]
        all += endpoint.parameters.filter { !paging.contains($0.name) }.map {
            Field(name: $0.name, kind: Self.kind($0.name, $0.schema), place: .query, required: false, hint: $0.description)
        }
        guard let names = fields else { return all }
        return all.filter { $0.place == .path && !names.contains($0.name) } + names.compactMap { name in all.first { $0.name == name } }
    }

    static func kind(_ name: String, _ schema: Schema) -> Field.Kind {
        switch schema.base {
        case let .string(_, allowed?): .choice(allowed)
        case .string: name == "secret" ? .secret : .text
        case .integer: .integer
        case .number: .number
        case .boolean: .flag
        case let .array(items, _) where items.base.isString: .list
        case .map(.string, _): .lines
        default: .json
        }
    }

    static func hint(_ schema: Schema) -> String {
        switch schema.base {
        case let .string(description, allowed): [description, allowed.map { "one of " + $0.joined(separator: ", ") }].compactMap { $0 }.joined(separator: "; ")
        case let .integer(description), let .number(description), let .boolean(description): description ?? ""
        case let .array(items, description):
            if case let .string(_, allowed?) = items.base {
                [description, "comma-separated: " + allowed.joined(separator: ", ")].compactMap { $0 }.joined(separator: "; ")
            } else {
                (description.map { $0 + "; " } ?? "") + "comma-separated"
            }
        case let .map(_, description): (description.map { $0 + "; " } ?? "") + "one key=value per line"
        default: "JSON"
        }
    }

    /// What a submitted form asks of the API: the URI and the body (JSON text, or the raw
    /// text of a text body); or what is wrong with the input, said per field. When the form
    /// edits a record (`editing`), an emptied list or map is sent empty, not left to the
    /// API's default (a DLP policy with its detectors cleared keeps none).
    func request(_ values: [String: String], endpoint: AdminEndpoint, editing: Bool = false) -> Result<(uri: String, body: String?), FormError> {
        var path = endpoint.path
        var body: [String: Any] = [:]
        var raw: String?
        var query: [String: String] = [:]
        for field in fields(of: endpoint) {
            let text = (values[field.name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty {
                if field.required { return .failure(FormError("\(field.label) is required.")) }
                if editing, field.place == .body, field.kind == .list || field.kind == .lines { body[field.name] = field.kind == .list ? [String]() : [String: String]() }
                continue
            }
            switch field.place {
            case .path:
                path = path.replacingOccurrences(of: "{\(field.name)}", with: ConsoleQuery.escape(text))
            case .query: query[field.name] = text
            case .body:
                if field.kind == .raw { raw = values[field.name]; continue }
                switch Self.value(text, field) {
                case let .success(value): body[field.name] = value
                case let .failure(error): return .failure(error)
                }
            }
        }
        let encoded = ConsoleQuery.encode(query)
        let uri = path + (encoded.isEmpty ? "" : "?" + encoded)
        if let raw { return .success((uri, raw)) }
        guard endpoint.body != nil else { return .success((uri, nil)) }
        let data = JSONField.encode(body, sorted: true) ?? Data("{}".utf8)
        return .success((uri, String(decoding: data, as: UTF8.self)))
    }

    /// One field's JSON value from its text.
    static func value(_ text: String, _ field: Field) -> Result<Any, FormError> {
        switch field.kind {
        case .integer:
            guard let number = Int(text) else { return .failure(FormError("\(field.label): \(text) is not a whole number.")) }
            return .success(number)
        case .number:
            guard let number = Double(text), number.isFinite else { return .failure(FormError("\(field.label): \(text) is not a number.")) }
            return .success(number)
        case .flag:
            switch text.lowercased() {
            case "true", "yes", "on": return .success(true)
            case "false", "no", "off": return .success(false)
            default: return .failure(FormError("\(field.label): choose yes or no."))
            }
        case .list:
            return .success(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        case .lines:
            var map: [String: String] = [:]
            for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, !pair[0].isEmpty else {
                    return .failure(FormError("\(field.label): the line \(line) is not key=value."))
                }
                map[pair[0]] = pair[1]
            }
            return .success(map)
        case .json:
            guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
                return .failure(FormError("\(field.label): this is not valid JSON."))
            }
            return .success(value)
        case .text, .secret, .choice, .raw:
            return .success(text)
        }
    }

    /// A field's text from a JSON value (to fill a form from an answer).
    static func text(_ value: Any?, _ field: Field) -> String {
        switch value {
        case nil, is NSNull: ""
        case let flag? where ConsoleFormat.isFlag(flag): flag as? Bool == true ? "true" : "false"
        case let list as [String]: list.joined(separator: ", ")
        case let map as [String: String] where field.kind == .lines: map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        case let text as String: text
        case let other where field.kind == .json:
            JSONField.encode(other as Any, sorted: true).map { String(decoding: $0, as: UTF8.self) } ?? ""
        case let number as NSNumber: ConsoleFormat.plain(number.doubleValue)
        default: "\(value!)"
        }
    }
}

/// Why a form's input cannot be sent, in the user's terms.
struct FormError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Query strings of console links, and form bodies (`application/x-www-form-urlencoded`).
enum ConsoleQuery {
    static func encode(_ query: [String: String]) -> String {
        query.sorted { $0.key < $1.key }.map { "\(escape($0.key))=\(escape($0.value))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? ""
    }

    /// The pairs of a query string or form body: `+` is a space, then percent-escapes are
    /// decoded; a later repeat of a key wins.
    static func decode(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                .map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let key = parts.first, !key.isEmpty { fields[key] = parts.count > 1 ? parts[1] : "" }
        }
        return fields
    }
}
