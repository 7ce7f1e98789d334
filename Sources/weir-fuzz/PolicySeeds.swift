import Policy

/// Policy entries as the admin API proposes them, and snapshots of the states they build.
enum PolicySeeds {
    static let pending = AuditStamp.pending
    static let hash = String(repeating: "ab", count: 32)

    static var sampleCommands: [PolicyCommand] {
        let admin = Principal(
            id: "human:admin", kind: .human, namespace: "tenant:default", groups: [], app: nil, purpose: nil, created: pending, updated: pending)
        let adminToken = ClientToken(
            id: "tok_admin", secretHash: hash, displayPrefix: "weir_admin", name: "bootstrap", principal: admin.id, namespace: "tenant:default",
            user: nil, app: nil, scopes: ["admin.super"], expiresAt: nil, revoked: false, created: pending, updated: pending)
        let userToken = ClientToken(
            id: "tok_ada", secretHash: String(repeating: "cd", count: 32), displayPrefix: "weir_ada", name: nil, principal: admin.id,
            namespace: "tenant:default", user: "user:ada", app: nil, scopes: ["model.invoke"], models: ["gpt-4o"], expiresAt: 1_900_000_000_000,
            revoked: false, created: pending, updated: pending)
        var settings = GatewaySettings()
        settings.routingStrategy = .weighted
        settings.cacheTTLSeconds = 60
        return [
            .bootstrapAdmin(principal: admin, token: adminToken),
            .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: nil, created: pending, updated: pending)),
            .putUser(User(
                id: "user:ada", displayName: "Ada", email: "ada@example.com", status: .active, role: .member, organization: "org:acme",
                created: pending, updated: pending)),
            .issueToken(userToken),
            .putCredential(Credential(
                id: "key:openai:prod", provider: .openai, baseURL: nil, sealedSecret: [1, 2, 3], extraHeaders: ["x-team": "core"],
                created: pending, updated: pending)),
            .putDeployment(Deployment(
                id: "dep:gpt", model: "gpt-4o", credential: "key:openai:prod", upstreamModel: "gpt-4o-2024", weight: 1, priority: 0,
                maxOutputTokens: 4_096, created: pending, updated: pending)),
            .putAlias(Alias(id: "", requestedModel: "fast", routedTo: "gpt-4o", organization: nil, created: pending, updated: pending)),
            .putFallback(FallbackChain(id: "gpt-4o", chain: ["gpt-4o-mini"], triggers: [.rateLimited, .timeout], created: pending, updated: pending)),
            .putProfile(ModelProfile(
                id: "role:coder", role: nil, name: "Coder", models: [.normal: "gpt-4o", .heavy: "o3"], created: pending, updated: pending)),
            .putDLP(DLPPolicy(
                id: "dlp:strict", name: "Strict", enabled: true, action: .redact, detectors: [.email, .creditCard],
                patterns: [DLPPolicy.Pattern(name: "ticket", regex: "TCK-[0-9]+")], created: pending, updated: pending)),
            .putSettings(settings),
            .upsertQuota(QuotaRevision(
                id: 0, lane: .org, subject: "org:acme", name: "monthly", period: .month, maxMicroUSD: 50_000_000, maxTokens: nil, maxRequests: 1_000,
                rollover: false, revoked: false, stamp: pending)),
            .upsertPricing(PricingRevision(
                id: 0, scope: .model, subject: "gpt-4o", inputNanoUSDPer1k: 2_500, outputNanoUSDPer1k: 10_000, cachedInputNanoUSDPer1k: nil,
                note: "list price", revoked: false, stamp: pending)),
            .revokeQuota(lane: .org, subject: "org:acme", name: "monthly"),
            .delete(.aliases, id: Alias.id(requested: "fast", organization: nil)),
            .revokeToken(id: "tok_ada"),
        ]
    }

    static var sampleEntries: [PolicyEntry] {
        sampleCommands.map { PolicyEntry(actor: "human:admin", reason: "seed", command: $0) }
    }

    /// The state after every sample entry, each applied at its own index. Every one of
    /// them must apply: a refused seed would leave the tables it fills empty.
    static let populated: PolicyState = applying(sampleEntries)

    static func applying(_ entries: [PolicyEntry]) -> PolicyState {
        var state = PolicyState()
        for (offset, entry) in entries.enumerated() {
            if case let .failure(error) = state.apply(entry, time: 1_000 * Int64(offset + 1), index: UInt64(offset + 1)) {
                preconditionFailure("seed entry \(offset + 1) is refused: \(error)")
            }
        }
        return state
    }

    static var entries: [[UInt8]] { sampleEntries.map(PolicyCodec.encode) }

    static var snapshots: [[UInt8]] {
        [PolicyState(), applying(Array(sampleEntries.prefix(4))), populated].map(PolicyCodec.snapshot)
    }
}
