import Foundation
import HTTPTypes
import Hummingbird
import Policy

/// The four endpoints of a policy table: list (filtered, paginated), get one, put (create
/// or replace by id) and delete.
struct AdminCRUD<View: Encodable & Sendable, Body: Decodable & Sendable> {
    var collection: String
    var tag: String
    var schemaName: String
    var table: PolicyTable
    var body: Schema
    var listParameters: [AdminEndpoint.Parameter]
    var list: @Sendable (AdminCall, PolicyState, PageRequest) throws -> PageView<View>
    var find: @Sendable (PolicyState, String) -> View?
    var command: @Sendable (Body, AdminCall) throws -> PolicyCommand
    var writeScope: Scope = .adminWrite

    var endpoints: [AdminEndpoint] {
        let base = "/admin/api/\(collection)"
        let list = self.list, find = self.find, command = self.command, schema = body, table = self.table
        let singular = table.singular
        return [
            AdminEndpoint(
                method: .get, path: base, scope: .adminRead, tag: tag, summary: "List \(collection)",
                parameters: listParameters + AdminEndpoint.pagingParameters, response: PageView<View>.schema(schemaName),
                handler: { call in
                    let state = try await call.state()
                    return try .json(try list(call, state, try call.page()))
                }),
            AdminEndpoint(
                method: .get, path: base + "/{id}", scope: .adminRead, tag: tag, summary: "Get one \(singular)",
                parameters: [AdminEndpoint.consistentParameter], response: .reference(schemaName),
                handler: { call in
                    let id = try call.id()
                    guard let view = find(try await call.state(), id) else { throw AdminError(PolicyError.notFound(kind: singular, id: id)) }
                    return try .json(view)
                }),
            AdminEndpoint(
                method: .post, path: base, scope: writeScope, tag: tag, summary: "Create or replace a \(singular) (by id)",
                body: schema, response: .reference(schemaName),
                handler: { call in
                    let decoded = try await call.body(Body.self, schema: schema)
                    let outcome = try await call.submit(try command(decoded, call))
                    guard let view = find(call.reader.current, outcome.id) else { throw AdminError(PolicyError.notFound(kind: singular, id: outcome.id)) }
                    return try .json(view)
                }),
            AdminEndpoint(
                method: .delete, path: base + "/{id}", scope: writeScope, tag: tag, summary: "Delete a \(singular) nothing refers to",
                parameters: [AdminEndpoint.reasonParameter], response: AdminEndpoint.deletedSchema,
                handler: { call in
                    let id = try call.id()
                    _ = try await call.submit(.delete(table, id: id), reason: call.query("reason"))
                    return try .json(["deleted": id])
                }),
        ]
    }
}

extension AdminEndpoint {
    static let consistentParameter = Parameter(
        name: "consistent", description: "true: first confirm with the leader that this node has applied every acknowledged write (ReadIndex)",
        schema: .string(allowed: ["true", "false"]))
    static let pagingParameters = [
        Parameter(name: "cursor", description: "next_cursor of the previous page"),
        Parameter(name: "limit", description: "items per page, 1 to \(PageRequest.limitMax) (default \(PageRequest.limitDefault))", schema: .integer(1...Int64(PageRequest.limitMax))),
        consistentParameter,
    ]
    static let reasonParameter = Parameter(name: "reason", description: "why, recorded in the audit history")
    static let deletedSchema = Schema.object([.init("deleted", .string(description: "the deleted id"), required: true)])
}
