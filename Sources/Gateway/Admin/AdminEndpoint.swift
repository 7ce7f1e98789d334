import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy

/// Who is calling the admin API: the token that authenticated and its principal.
public struct AdminIdentity: Sendable, Equatable {
    public var tokenID: String
    public var principal: String
    public var scopes: [String]
}

/// One admin API operation: its route, the scope it needs, its documentation and its
/// handler. The router and `/openapi.json` are both built from the list of these.
struct AdminEndpoint: Sendable {
    /// A documented query parameter.
    struct Parameter: Sendable {
        var name: String
        var description: String
        var schema: Schema = .string()
        /// The request is refused without it (the OpenAPI document says so).
        var required = false
    }

    var method: HTTPRequest.Method
    /// OpenAPI form: `/admin/api/users/{id}`.
    var path: String
    var scope: Scope
    var tag: String
    var summary: String
    var parameters: [Parameter] = []
    var body: Schema?
    var response: Schema
    var responseStatus: HTTPResponse.Status = .ok
    /// The media type of a successful answer.
    var responseContentType = "application/json"
    var handler: @Sendable (AdminCall) async throws -> Response

    /// The Hummingbird route path: `{id}` parameters become `:id`, a final `{id}` that may
    /// hold slashes (model names) becomes the catch-all `**`.
    var routerPath: String {
        path.split(separator: "/").map { segment -> String in
            guard segment.hasPrefix("{") else { return String(segment) }
            let name = segment.dropFirst().dropLast()
            let slashed = Self.slashedIDCollections.contains { path.hasPrefix("/admin/api/\($0)/") }
            return name == "id" && slashed && segment == path.split(separator: "/").last ? "**" : ":\(name)"
        }.reduce("") { $0 + "/" + $1 }
    }

    /// The query parameters of `request` that this endpoint does not take: a request
    /// naming one is refused, so a misspelt filter is never silently ignored.
    private func unknownParameters(of request: Request) -> [String] {
        let declared = Set(parameters.map(\.name))
        var unknown: [String] = []
        for (name, _) in request.uri.queryParameters where !declared.contains(String(name)) && !unknown.contains(String(name)) {
            unknown.append(String(name))
        }
        return unknown
    }

    /// The call of this endpoint for `request`; throws when the request names a query
    /// parameter the endpoint does not take. The admin API and the console both call here.
    func call(
        _ request: Request, parameters: Parameters, identity: AdminIdentity, reader: any PolicyReader, writer: any PolicyWriter, now: Int64
    ) throws -> AdminCall {
        let unknown = unknownParameters(of: request)
        guard unknown.isEmpty else { throw unknownParametersError(unknown) }
        var call = AdminCall(request: request, parameters: parameters, identity: identity, reader: reader, writer: writer, now: now)
        call.declared = Set(self.parameters.map(\.name))
        return call
    }

    /// The refusal of `unknown` parameters, naming those the endpoint takes.
    private func unknownParametersError(_ unknown: [String]) -> AdminError {
        let named = unknown.prefix(5).map { "'\($0.prefix(60))'" }.joined(separator: ", ")
        let takes = parameters.isEmpty ? "takes no query parameters" : "takes " + parameters.map(\.name).joined(separator: ", ")
        return AdminError.invalid(
            "unknown query parameter \(named): \(method.rawValue) \(path) \(takes)", field: String(unknown[0].prefix(60)))
    }

    /// Collections whose ids are model names, which may hold slashes (`ollama/gemma3`).
    static let slashedIDCollections = ["aliases", "fallbacks"]
}

/// What a handler gets: the request, the caller, the policy and helpers that turn bad
/// input into precise errors.
struct AdminCall: Sendable {
    let request: Request
    let parameters: Parameters
    let identity: AdminIdentity
    let reader: any PolicyReader
    let writer: any PolicyWriter
    let now: Int64
    /// The query parameters the endpoint declares (and its OpenAPI entry documents).
    var declared: Set<String> = []

    /// The `{id}` of the path (slashes and percent-escapes allowed).
    func id() throws -> String {
        let raw = parameters.getCatchAll().joined(separator: "/")
        let value = raw.isEmpty ? (parameters.get("id") ?? "") : raw
        guard let decoded = value.removingPercentEncoding, !decoded.isEmpty else { throw AdminError.invalid("the path has no id") }
        return decoded
    }

    /// A query parameter's value, nil when absent or empty.
    func query(_ name: String) -> String? {
        assert(declared.contains(name), "the handler reads the query parameter \(name) that its endpoint does not declare")
        guard let value = request.uri.queryParameters.get(name), !value.isEmpty else { return nil }
        return value
    }

    /// A query parameter that must be one of `T`'s values.
    func query<T: RawRepresentable & CaseIterable>(_ name: String, as: T.Type) throws -> T? where T.RawValue == String {
        guard let value = query(name) else { return nil }
        guard let parsed = T(rawValue: value) else {
            throw AdminError.invalid("\(name): '\(value.prefix(80))' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", field: name)
        }
        return parsed
    }

    /// A `true` / `false` query parameter.
    func query(_ name: String, as: Bool.Type) throws -> Bool? {
        guard let value = query(name) else { return nil }
        guard let flag = Bool(value) else { throw AdminError.invalid("\(name): '\(value.prefix(80))' is not true or false", field: name) }
        return flag
    }

    /// An integer query parameter (ms times and such).
    func query(_ name: String, as: Int64.Type) throws -> Int64? {
        guard let value = query(name) else { return nil }
        guard let number = Int64(value) else { throw AdminError.invalid("\(name): '\(value.prefix(80))' is not an integer", field: name) }
        return number
    }

    /// `cursor` and `limit`.
    func page() throws -> PageRequest {
        var limit = PageRequest.limitDefault
        if let text = query("limit") {
            guard let number = Int(text) else { throw AdminError.invalid("limit: '\(text.prefix(80))' is not an integer", field: "limit") }
            limit = number
        }
        do {
            return try PageRequest(cursor: query("cursor"), limit: limit)
        } catch {
            throw AdminError(error)
        }
    }

    /// The applied state; first a ReadIndex round when `consistent=true` (on endpoints
    /// that take it).
    func state() async throws -> PolicyState {
        if declared.contains("consistent"), let consistent = query("consistent") {
            guard consistent == "true" || consistent == "false" else {
                throw AdminError.invalid("consistent: must be true or false", field: "consistent")
            }
            if consistent == "true" {
                do { try await reader.catchUp() } catch { throw AdminError(error) }
            }
        }
        return reader.current
    }

    /// The body, checked against `schema` and decoded.
    func body<B: Decodable>(_ type: B.Type, schema: Schema) async throws -> B {
        try await AdminBodyDecoder.decode(type, schema: schema, from: request)
    }

    /// The body when there is one (an empty body gives nil).
    func optionalBody<B: Decodable>(_ type: B.Type, schema: Schema) async throws -> B? {
        let bytes = try await AdminBodyDecoder.collect(request)
        return bytes.isEmpty ? nil : try AdminBodyDecoder.decode(type, schema: schema, bytes: bytes)
    }

    /// Sends `command` through the log with the caller as actor and the reason from the
    /// `X-Weir-Reason` header (or `reason`), and returns its outcome.
    func submit(_ command: PolicyCommand, reason: String? = nil) async throws -> PolicyOutcome {
        let header = request.headers[HTTPField.Name("X-Weir-Reason")!]
        if let (field, id) = command.newIDNotInNormalFormC {
            throw AdminError(.invalid(field: field, message: "'\(id.prefix(80))' is not in Unicode normal form C; send accented letters composed (é as U+00E9, not e and U+0301)"))
        }
        do {
            return try await writer.submit(PolicyEntry(actor: identity.principal, reason: reason ?? header, command: command))
        } catch {
            throw AdminError(error)
        }
    }
}

/// A list page as JSON: `{"items": […], "next_cursor": "…"|null}`.
struct PageView<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var next_cursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(items, forKey: .items)
        try container.encode(next_cursor, forKey: .next_cursor)
    }

    enum Keys: String, CodingKey { case items, next_cursor }

    static func schema(_ item: String) -> Schema {
        .object([
            .init("items", .array(.reference(item)), required: true),
            .init("next_cursor", .string(description: "pass as cursor for the next page; null on the last page"), required: true, nullable: true),
        ])
    }
}

extension Response {
    /// `value` as a JSON response.
    static func json(_ value: some Encodable & Sendable, status: HTTPResponse.Status = .ok) throws -> Response {
        try JSONResponse(status, value).encoded()
    }
}
