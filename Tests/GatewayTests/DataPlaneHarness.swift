import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MetricsTestKit
import MockLLM
import NIOCore
import Policy
import QuotaCRDT
import Synchronization
@testable import Gateway

/// The quota gate of a lone node: the pure ledger, with every reservation's end counted.
final class LedgerGate: QuotaGate {
    private let ledger = Mutex(QuotaLedger(member: 1))
    let settled = Mutex<[Usage]>([])
    let cancelled = Atomic<Int>(0)
    let clock: @Sendable () -> Int64

    init(clock: @escaping @Sendable () -> Int64) { self.clock = clock }

    func reserve(_ estimate: Usage, against quotas: [QuotaSpec]) async -> Result<ReservationID, QuotaRefusal> {
        let now = clock()
        return ledger.withLock { $0.reserve(estimate, against: quotas, members: [1], now: now) }
    }

    func settle(_ reservation: ReservationID, actual: Usage) -> Bool {
        let done = ledger.withLock { $0.settle(reservation, actual: actual) }
        if done { settled.withLock { $0.append(actual) } }
        return done
    }

    func cancel(_ reservation: ReservationID) -> Bool {
        let done = ledger.withLock { $0.cancel(reservation) }
        if done { cancelled.add(1, ordering: .relaxed) }
        return done
    }

    func rateLimits(of reservation: ReservationID) -> RateLimits { ledger.withLock { $0.rateLimits(of: reservation) } }

    var settledUsages: [Usage] { settled.withLock { $0 } }
    var cancelCount: Int { cancelled.load(ordering: .relaxed) }
}

/// The usage events the data plane recorded.
final class CollectingSink: UsageSink {
    private let events = Mutex<[UsageEvent]>([])
    func record(_ event: UsageEvent) { events.withLock { $0.append(event) } }
    var recorded: [UsageEvent] { events.withLock { $0 } }
}

/// `mockllm` on a free loopback port for the length of a test.
struct RunningMock: Sendable {
    let port: Int
    let mock: MockLLM
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    static func with<T: Sendable>(_ configure: (inout MockOptions) -> Void = { _ in }, _ body: @Sendable (RunningMock) async throws -> T) async throws -> T {
        var options = MockOptions()
        options.promptTokens = 11
        options.completionTokens = 8
        configure(&options)
        let mock = MockLLM(options: options)
        return try await mock.serving { port in try await body(RunningMock(port: port, mock: mock)) }
    }
}

/// A gateway over an in-memory policy (with a super-admin for setting it up), a lone
/// node's quota ledger and a running mockllm.
struct DataPlaneHarness {
    static let callerSecret = "weir_data-plane-caller"
    let admin: AdminHarness
    let gate = LedgerGate(clock: { AdminHarness.now })
    let usage = CollectingSink()
    let metrics = TestMetrics()

    init() async throws { admin = try await AdminHarness() }

    var policy: MemoryPolicy { admin.policy }

    /// Applies commands as the admin would.
    func apply(_ commands: [PolicyCommand]) async throws {
        for command in commands { _ = try await policy.submit(PolicyEntry(actor: "test", command: command)) }
    }

    /// A caller: `user:ann` in `org:acme` with a model.invoke token.
    func addCaller() async throws {
        try await apply([
            .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: nil, created: .pending, updated: .pending)),
            .putUser(User(id: "user:ann", displayName: nil, email: nil, status: .active, role: .member, organization: "org:acme", created: .pending, updated: .pending)),
            .putPrincipal(Principal(id: "agent:bot", kind: .agent, namespace: "tenant:default", groups: [], app: nil, purpose: nil, created: .pending, updated: .pending)),
            .issueToken(ClientToken(
                id: "tok_caller", secretHash: TokenSecret.hash(Self.callerSecret), displayPrefix: "weir_data…", name: nil, principal: "agent:bot",
                namespace: "tenant:default", user: "user:ann", app: nil, scopes: ["model.invoke"], expiresAt: nil, revoked: false,
                created: .pending, updated: .pending)),
        ])
    }

    /// An OpenAI-compatible credential at the mock, sealed as the admin API would.
    func addCredential(_ id: String, baseURL: String, secret: String = "sk-upstream", provider: Credential.Provider = .openAICompatible) async throws {
        let sealed = try CredentialSealer(key: AdminHarness.sealingKey).seal(secret, for: id)
        try await apply([.putCredential(Credential(
            id: id, provider: provider, baseURL: baseURL, sealedSecret: sealed, extraHeaders: [:], created: .pending, updated: .pending))])
    }

    func deployment(_ id: String, model: String, credential: String, upstream: String? = nil, priority: Int = 0) -> PolicyCommand {
        .putDeployment(Deployment(
            id: id, model: model, credential: credential, upstreamModel: upstream ?? model, weight: 1, priority: priority, maxOutputTokens: nil,
            created: .pending, updated: .pending))
    }

    func price(model: String, inputPer1kNano: Int64, outputPer1kNano: Int64) -> PolicyCommand {
        .upsertPricing(PricingRevision(
            id: 0, scope: .model, subject: model, inputNanoUSDPer1k: inputPer1kNano, outputNanoUSDPer1k: outputPer1kNano,
            cachedInputNanoUSDPer1k: nil, note: nil, revoked: false, stamp: .pending))
    }

    /// A caller, a credential at the mock, `gpt-4o` (priced) and `mini` behind it, `smart` → gpt-4o.
    func serveStandardModels(at mock: RunningMock) async throws {
        try await addCaller()
        try await addCredential("key:mock:main", baseURL: mock.baseURL)
        try await apply([
            deployment("gpt4o", model: "gpt-4o", credential: "key:mock:main", upstream: "upstream-4o"),
            deployment("mini", model: "gpt-4o-mini", credential: "key:mock:main"),
            .putAlias(Alias(id: Alias.id(requested: "smart", organization: nil), requestedModel: "smart", routedTo: "gpt-4o", organization: nil, created: .pending, updated: .pending)),
            price(model: "gpt-4o", inputPer1kNano: 2_500_000, outputPer1kNano: 10_000_000),
            price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000),
        ])
    }

    func run<Value: Sendable>(
        upstreamLimits: UpstreamLimits = UpstreamLimits(), _ test: @escaping @Sendable (AdminClient) async throws -> Value
    ) async throws -> Value {
        try await inspecting(upstreamLimits: upstreamLimits) { client, _ in try await test(client) }
    }

    /// `run`, with the data plane's services for the test to look into.
    func inspecting<Value: Sendable>(
        upstreamLimits: UpstreamLimits = UpstreamLimits(), _ test: @escaping @Sendable (AdminClient, DataPlaneServices) async throws -> Value
    ) async throws -> Value {
        let router = Router()
        let routes = DataPlaneRoutes<BasicRequestContext>(
            reader: policy, quota: gate, usage: usage, sealer: CredentialSealer(key: AdminHarness.sealingKey), metrics: metrics,
            upstreamLimits: upstreamLimits, logger: Logger(label: "data-plane-test"),
            clock: { AdminHarness.now }
        )
        routes.register(on: router)
        return try await Application(router: router).test(.router) { client in try await test(AdminClient(client: client), routes.services) }
    }
}

extension UsageContext {
    /// The usage context of a chat request for model `m` by a bare token `tok_x`.
    static func fixture(_ sink: CollectingSink, stream: Bool) -> UsageContext {
        let token = ClientToken(
            id: "tok_x", secretHash: "", displayPrefix: "", name: nil, principal: "agent:x", namespace: "tenant:default", user: nil, app: nil,
            scopes: ["model.invoke"], expiresAt: nil, revoked: false, created: .pending, updated: .pending)
        return UsageContext(
            sink: sink, metrics: DataPlaneMetrics(factory: TestMetrics()), time: 0, endpoint: "chat.completions",
            caller: Caller(token: token, user: nil, app: nil, organization: nil), requestedModel: "m", stream: stream, userAgent: nil, requestBytes: 2)
    }
}
