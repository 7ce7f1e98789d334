import HTTPTypes
import Hummingbird
import HTTPTypes
import Policy

extension AdminRoutes {
    /// The console's "Keys JSON": client tokens. A token's secret is generated here, on the
    /// node that received the request, shown once in the answer, and only its hash enters
    /// the log.
    var tokenEndpoints: [AdminEndpoint] {
        [
            AdminEndpoint(
                method: .get, path: "/admin/api/tokens", scope: .adminRead, tag: "Tokens", summary: "List client tokens (never their secrets)",
                parameters: [
                    .init(name: "principal", description: "exact principal"), .init(name: "user", description: "exact user binding"),
                    .init(name: "app", description: "exact app binding"),
                    .init(name: "status", description: "active, revoked, expired (unrevoked, past expiry) or all (default)", schema: .oneOf(TokenFilter.Status.self)),
                ] + AdminEndpoint.pagingParameters,
                response: PageView<TokenView>.schema("Token"),
                handler: { call in
                    let state = try await call.state()
                    let filter = TokenFilter(
                        principal: call.query("principal"), user: call.query("user"), app: call.query("app"),
                        status: try call.query("status", as: TokenFilter.Status.self) ?? .all)
                    return try .json(try state.tokens(filter, now: call.now, try call.page()).map { TokenView($0, now: call.now) })
                }),
            AdminEndpoint(
                method: .get, path: "/admin/api/tokens/{id}", scope: .adminRead, tag: "Tokens", summary: "Get one token",
                parameters: [AdminEndpoint.consistentParameter], response: .reference("Token"),
                handler: { call in
                    let id = try call.id()
                    guard let token = try await call.state().tokens[id] else { throw AdminError(PolicyError.notFound(kind: "token", id: id)) }
                    return try .json(TokenView(token, now: call.now))
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/tokens", scope: .adminWrite, tag: "Tokens",
                summary: "Issue a token; the answer shows its secret once (admin scopes need admin.super)",
                body: TokenBody.schema, response: .reference("IssuedToken"), responseStatus: .created,
                handler: { call in
                    let body = try await call.body(TokenBody.self, schema: TokenBody.schema)
                    var generator = SystemRandomNumberGenerator()
                    let secret = TokenSecret.generate(using: &generator)
                    let token = try body.record(id: TokenSecret.publicID(using: &generator), secret: secret, now: call.now)
                    if token.scopes.contains(where: { $0.hasPrefix("admin.") }), !Scope.adminSuper.isGranted(by: call.identity.scopes) {
                        throw AdminError(.forbidden, "forbidden", "issuing a token with admin scopes needs admin.super")
                    }
                    let outcome = try await call.submit(.issueToken(token))
                    guard let issued = call.reader.current.tokens[outcome.id] else { throw AdminError(PolicyError.notFound(kind: "token", id: outcome.id)) }
                    return try .json(IssuedTokenView(token: TokenView(issued, now: call.now), secret: secret), status: .created)
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/tokens/{id}/revoke", scope: .adminWrite, tag: "Tokens", summary: "Revoke a token (for good)",
                body: RevokeTokenBody.schema, response: .reference("Token"),
                handler: { call in
                    guard let id = call.parameters.get("id") else { throw AdminError.invalid("the path has no token id") }
                    let reason = try await call.optionalBody(RevokeTokenBody.self, schema: RevokeTokenBody.schema)?.reason
                    if let token = call.reader.current.tokens[id], token.scopes.contains("admin.super"), !Scope.adminSuper.isGranted(by: call.identity.scopes) {
                        throw AdminError(.forbidden, "forbidden", "revoking a super-admin token needs admin.super")
                    }
                    _ = try await call.submit(.revokeToken(id: id), reason: reason)
                    guard let token = call.reader.current.tokens[id] else { throw AdminError(PolicyError.notFound(kind: "token", id: id)) }
                    return try .json(TokenView(token, now: call.now))
                }),
        ]
    }
}

struct TokenView: Encodable, Sendable {
    var id: String, name: String?, display_prefix: String, principal: String, namespace: String, user: String?, app: String?
    var scopes: [String], models: [String]?, cache_opt_out: Bool, expires_at: Int64?, revoked: Bool, status: String
    var created: AuditStamp, updated: AuditStamp

    init(_ t: ClientToken, now: Int64) {
        id = t.id; name = t.name; display_prefix = t.displayPrefix; principal = t.principal; namespace = t.namespace; user = t.user
        app = t.app; scopes = t.scopes; models = t.models; cache_opt_out = t.cacheOptOut ?? false; expires_at = t.expiresAt; revoked = t.revoked
        status = t.revoked ? "revoked" : (t.isUsable(at: now) ? "active" : "expired")
        created = t.created; updated = t.updated
    }

    static let schema = Schema.object([
        .init("id", .text("public id tok_…"), required: true), .init("name", .text(), nullable: true),
        .init("display_prefix", .text("the secret's first characters"), required: true), .init("principal", .text(), required: true),
        .init("namespace", .text(), required: true), .init("user", .text(), nullable: true), .init("app", .text(), nullable: true),
        .init("scopes", .array(.oneOf(Scope.self)), required: true),
        .init("models", .array(.text(), description: "the models it may ask for; absent: all"), nullable: true),
        .init("cache_opt_out", .boolean(description: "its requests never use the response cache"), required: true),
        .init("expires_at", .integer(description: "ms since the epoch"), nullable: true),
        .init("revoked", .boolean(), required: true), .init("status", .string(allowed: ["active", "revoked", "expired"]), required: true),
    ] + Schema.stampProperties)
}

struct IssuedTokenView: Encodable, Sendable {
    var token: TokenView
    /// Shown once; store it now.
    var secret: String

    static let schema = Schema.object([
        .init("token", .reference("Token"), required: true),
        .init("secret", .text("the token's secret, shown only in this answer"), required: true),
    ])
}

struct TokenBody: Decodable, Sendable {
    var principal: String, name: String?, namespace: String?, user: String?, app: String?, scopes: [String]?, models: [String]?, cache_opt_out: Bool?
    var expires_at: Int64?, expires_in_seconds: Int64?

    func record(id: String, secret: String, now: Int64) throws -> ClientToken {
        if expires_at != nil && expires_in_seconds != nil {
            throw AdminError.invalid("give expires_at or expires_in_seconds, not both", field: "expires_at")
        }
        if let at = expires_at, !(0...EventPosition.timeMax).contains(at) {
            throw AdminError.invalid("expires_at: \(at) is out of range; give ms since the epoch from 0 to \(EventPosition.timeMax) (timeMax)", field: "expires_at")
        }
        if let seconds = expires_in_seconds, seconds <= 0 || seconds > 100 * 365 * 86_400 {
            throw AdminError.invalid("expires_in_seconds: must be between 1 and 100 years", field: "expires_in_seconds")
        }
        let scopes = (self.scopes ?? [Scope.modelInvoke.rawValue]).flatMap { $0.split(separator: ",") }.map { String($0).trimmingWhitespace() }
        var token = ClientToken(
            id: id, secretHash: TokenSecret.hash(secret), displayPrefix: TokenSecret.displayPrefix(secret), name: name,
            principal: principal, namespace: namespace ?? PrincipalBody.defaultNamespace, user: user, app: app, scopes: scopes, models: models,
            expiresAt: expires_at ?? expires_in_seconds.map { now + $0 * 1000 }, revoked: false, created: .pending, updated: .pending)
        token.cacheOptOut = cache_opt_out
        return token
    }

    static let schema = Schema.object([
        .init("principal", .id(["agent:", "service:", "human:"], "the principal that authenticates with it"), required: true), .init("name", .freeText()),
        .init("namespace", .text("default tenant:default")), .init("user", .text("user:… binding")), .init("app", .text("app:… binding")),
        .init("scopes", .array(.oneOf(Scope.self), description: "default [model.invoke]")),
        .init("models", .array(.text(), description: "model names it may ask for (requested or as an alias resolves); default all")),
        .init("cache_opt_out", .boolean(description: "true: never use the response cache")),
        .init("expires_at", .integer(0...EventPosition.timeMax, "ms since the epoch")), .init("expires_in_seconds", .integer(1...100 * 365 * 86_400)),
    ], exclusive: [["expires_at", "expires_in_seconds"]])
}

struct RevokeTokenBody: Decodable, Sendable {
    var reason: String?
    static let schema = Schema.object([.init("reason", .text("recorded in the audit history"))])
}
