import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Policy

/// The admin JSON API under `/admin/api/` (users, orgs, apps, principals, tokens, quotas,
/// pricing, credentials, deployments, aliases, fallbacks, profiles, dlp, settings,
/// history), plus `/openapi.json` and `/docs` rendered from the same endpoint list.
public struct AdminRoutes<Context: RequestContext>: Sendable {
    let reader: any PolicyReader
    let writer: any PolicyWriter
    let sealer: CredentialSealer
    let usage: (any UsageQuery)?
    let cluster: (any ClusterAdmin)?
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// The console's sessions: a signed-in browser may read (GET) the JSON API with its
    /// cookie, so the console's links to the JSON and CSV answers work.
    let sessions: ConsoleSessions?
    /// Every admin endpoint, built once: the router, `/openapi.json`, `/docs` and the
    /// console's calls all use this list.
    private(set) var endpoints: [AdminEndpoint] = []

    /// Routes over the node's policy. `sealer` encrypts credential secrets before they
    /// enter the log; `usage` answers the analytics and `cluster` the pool's operations
    /// (each answers 503 without it); `clock`
    /// gives ms since the epoch (token expiry, issue times); `sessions` lets the console's
    /// cookie read.
    public init(
        reader: any PolicyReader, writer: any PolicyWriter, sealer: CredentialSealer, usage: (any UsageQuery)? = nil, cluster: (any ClusterAdmin)? = nil,
        sessions: ConsoleSessions? = nil, logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.reader = reader
        self.writer = writer
        self.sealer = sealer
        self.usage = usage
        self.cluster = cluster
        self.sessions = sessions
        self.clock = clock
        self.logger = logger
        endpoints = identityEndpoints + tokenEndpoints + revisionEndpoints + routingEndpoints + modelEndpoints + settingsEndpoints + resealEndpoints
            + usageEndpoints + clusterEndpoints
    }


    public func register(on router: Router<Context>) {
        for endpoint in endpoints {
            router.on(RouterPath(endpoint.routerPath), method: endpoint.method) { request, context in
                await self.handle(endpoint, request, context.parameters)
            }
        }
        let document = OpenAPIDocument.render(endpoints)
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: .init(bytes: document)))
        }
        let page = DocsPage.render(endpoints)
        router.get("/docs") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: .init(string: page)))
        }
    }

    /// The caller: its bearer token, or for a read without one, the console's session.
    private func identity(_ request: Request, _ endpoint: AdminEndpoint, now: Int64) throws -> AdminIdentity {
        if request.method == .get, request.headers[.authorization] == nil, let sessions,
           let (identity, _) = sessions.identity(request.headers, state: reader.current, now: now) {
            guard endpoint.scope.isGranted(by: identity.scopes) else {
                throw AdminError(.forbidden, "forbidden", "token \(identity.tokenID) lacks \(endpoint.scope.rawValue)")
            }
            return identity
        }
        return try AdminAuthenticator.authenticate(request, state: reader.current, now: now, needs: endpoint.scope)
    }

    private func handle(_ endpoint: AdminEndpoint, _ request: Request, _ parameters: Parameters) async -> Response {
        do {
            let now = clock()
            let identity = try identity(request, endpoint, now: now)
            let call = try endpoint.call(request, parameters: parameters, identity: identity, reader: reader, writer: writer, now: now)
            return try await endpoint.handler(call)
        } catch let error as AdminError {
            return error.response()
        } catch let error as PolicyError {
            return AdminError(error).response()
        } catch {
            logger.error("admin call failed", metadata: ["path": "\(endpoint.path)", "error": "\(error)"])
            return AdminError(.internalServerError, "internal", "the call failed on this node: \(error)").response()
        }
    }
}
