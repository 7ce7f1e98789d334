import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Policy
import Synchronization
@testable import Gateway

/// The policy in memory: writes apply at once with a counting index and a fixed clock,
/// as the Raft-backed service would after commit. Counts consistent-read rounds.
final class MemoryPolicy: PolicyReader, PolicyWriter {
    private let state = Mutex((PolicyState(), UInt64(0)))
    private let catchUpCalls = Atomic<Int>(0)
    var catchUps: Int { catchUpCalls.load(ordering: .relaxed) }

    var current: PolicyState { state.withLock { $0.0 } }

    func catchUp() async throws(PolicyAccessError) { catchUpCalls.add(1, ordering: .relaxed) }

    func submit(_ entry: PolicyEntry) async throws(PolicyAccessError) -> PolicyOutcome {
        let result = state.withLock { s -> Result<PolicyOutcome, PolicyError> in
            s.1 += 1
            return s.0.apply(entry, time: AdminHarness.now, index: s.1)
        }
        switch result {
        case let .success(outcome): return outcome
        case let .failure(error): throw .refused(error)
        }
    }
}

/// An admin router over a `MemoryPolicy` with a bootstrapped super-admin, and helpers to
/// call it as JSON.
struct AdminHarness {
    static let now: Int64 = 1_800_000_000_000
    static let superSecret = "weir_test-super-admin-secret"
    static let sealingKey = [UInt8](repeating: 7, count: 32)

    let policy = MemoryPolicy()
    /// Seals and opens credential secrets (the fixed test key unless a test rotates it).
    var sealer = CredentialSealer(key: AdminHarness.sealingKey)
    /// What the usage analytics read (none: they answer 503).
    var usage: (any UsageQuery)?
    /// What the cluster endpoints operate (none: they answer 503).
    var cluster: (any ClusterAdmin)?
    /// The console's sessions, whose cookie may read the API.
    static let sessions = ConsoleSessions(secret: Array("a cluster secret of enough length".utf8))

    init() async throws {
        let principal = Principal(
            id: "human:admin", kind: .human, namespace: "tenant:default", groups: [], app: nil, purpose: nil, created: .pending, updated: .pending)
        _ = try await policy.submit(PolicyEntry(actor: "system:bootstrap", command: .bootstrapAdmin(principal: principal, token: Self.token("tok_super", Self.superSecret, scopes: ["admin.super"]))))
    }

    static func token(_ id: String, _ secret: String, scopes: [String]) -> ClientToken {
        ClientToken(
            id: id, secretHash: TokenSecret.hash(secret), displayPrefix: TokenSecret.displayPrefix(secret), name: nil, principal: "human:admin",
            namespace: "tenant:default", user: nil, app: nil, scopes: scopes, expiresAt: nil, revoked: false, created: .pending, updated: .pending)
    }

    /// Adds a token with `scopes` straight to the policy and returns its secret.
    func addToken(_ id: String, scopes: [String]) async throws -> String {
        let secret = "weir_secret-of-\(id)"
        _ = try await policy.submit(PolicyEntry(actor: "test", command: .issueToken(Self.token(id, secret, scopes: scopes))))
        return secret
    }

    var routes: AdminRoutes<BasicRequestContext> {
        AdminRoutes(
            reader: policy, writer: policy, sealer: sealer, usage: usage, cluster: cluster, sessions: Self.sessions, logger: Logger(label: "admin-test"),
            clock: { AdminHarness.now })
    }

    @discardableResult
    func run<Value: Sendable>(_ test: @escaping @Sendable (AdminClient) async throws -> Value) async throws -> Value {
        let router = Router()
        routes.register(on: router)
        return try await Application(router: router).test(.router) { client in try await test(AdminClient(client: client)) }
    }
}

/// One JSON answer: its status and parsed body.
struct Answer {
    var status: HTTPResponse.Status
    var text: String
    var json: Any?
    var headers: HTTPFields = [:]

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
    var errorType: String? { (object["error"] as? [String: Any])?["type"] as? String }
    var errorField: String? { (object["error"] as? [String: Any])?["field"] as? String }
    var errorMessage: String { (object["error"] as? [String: Any])?["message"] as? String ?? "" }
}

struct AdminClient {
    let client: any TestClientProtocol

    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = AdminHarness.superSecret, body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        return Answer(status: response.status, text: text, json: try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
                      headers: response.headers)
    }

    func get(_ uri: String, token: String? = AdminHarness.superSecret) async throws -> Answer { try await call(.get, uri, token: token) }

    func post(_ uri: String, _ body: String, token: String? = AdminHarness.superSecret) async throws -> Answer {
        try await call(.post, uri, token: token, body: body)
    }
}
