import Foundation
import Policy
import Testing
@testable import Gateway

/// The order of attempts under each routing strategy, aliases and fallbacks.
@Suite struct ModelRouterTests {
    private func state(_ strategy: GatewaySettings.RoutingStrategy, weights: [Int] = [1, 1, 1]) -> PolicyState {
        var applier = Applier()
        _ = applier.apply(.putCredential(Credential(id: "key:openai:a", provider: .openai, baseURL: nil, sealedSecret: [1, 2, 3], extraHeaders: [:], created: .pending, updated: .pending)))
        for (n, name) in ["d1", "d2", "d3"].enumerated() {
            _ = applier.apply(.putDeployment(Deployment(
                id: name, model: "m", credential: "key:openai:a", upstreamModel: "up-\(name)", weight: weights[n], priority: n, maxOutputTokens: nil,
                created: .pending, updated: .pending)))
        }
        var settings = GatewaySettings()
        settings.routingStrategy = strategy
        _ = applier.apply(.putSettings(settings))
        #expect(applier.refused.isEmpty, "\(applier.refused)")
        return applier.state
    }

    private func order(_ router: ModelRouter, _ state: PolicyState) -> [String] {
        router.plan(requested: "m", organization: nil, state: state).compactMap { $0.deployment?.id }
    }

    @Test func priorityAndRoundRobin() {
        let router = ModelRouter(seed: 1)
        #expect(order(router, state(.priority)) == ["d1", "d2", "d3"])
        let rr = state(.roundRobin)
        #expect((0..<4).map { _ in order(router, rr).first! } == ["d1", "d2", "d3", "d1"])
    }

    @Test func weightedOrderFollowsTheWeights() {
        let router = ModelRouter(seed: 7)
        let weighted = state(.weighted, weights: [1, 3, 6])
        var firsts: [String: Int] = [:]
        for _ in 0..<3000 { firsts[order(router, weighted).first ?? "none", default: 0] += 1 }
        // Expected 300, 900 and 1800 of 3000; seed 7 replays exactly.
        #expect((240...360).contains(firsts["d1"] ?? 0) && (810...990).contains(firsts["d2"] ?? 0) && (1680...1920).contains(firsts["d3"] ?? 0), "\(firsts)")
    }

    @Test func measuredStrategiesUseLatencyLoadAndPrice() {
        let router = ModelRouter(seed: 1)
        let latency = state(.lowestLatency)
        #expect(order(router, latency) == ["d1", "d2", "d3"], "unmeasured ones first, by priority")
        router.stats.started("d1"); router.stats.finished("d1", latencyMicroseconds: 9_000)
        router.stats.started("d2"); router.stats.finished("d2", latencyMicroseconds: 2_000)
        router.stats.started("d3"); router.stats.finished("d3", latencyMicroseconds: 5_000)
        #expect(order(router, latency) == ["d2", "d3", "d1"])

        let busy = state(.leastBusy)
        router.stats.started("d1"); router.stats.started("d1"); router.stats.started("d2")
        #expect(order(router, busy) == ["d3", "d2", "d1"])

        var cost = Applier(state(.lowestCost))
        _ = cost.apply(.upsertPricing(PricingRevision(id: 0, scope: .providerModel, subject: "openai:up-d1", inputNanoUSDPer1k: 900, outputNanoUSDPer1k: 900, cachedInputNanoUSDPer1k: nil, note: nil, revoked: false, stamp: .pending)))
        _ = cost.apply(.upsertPricing(PricingRevision(id: 0, scope: .providerModel, subject: "openai:up-d3", inputNanoUSDPer1k: 100, outputNanoUSDPer1k: 100, cachedInputNanoUSDPer1k: nil, note: nil, revoked: false, stamp: .pending)))
        #expect(order(router, cost.state) == ["d3", "d1", "d2"], "cheapest first, unpriced last")
    }

    @Test func aliasesPreferTheOrganizationAndFallbacksFollow() {
        var applier = Applier(state(.priority))
        _ = applier.apply(.putOrganization(Organization(id: "org:a", name: "A", slug: "a", owner: nil, dlp: nil, created: .pending, updated: .pending)))
        _ = applier.apply(.putDeployment(Deployment(id: "e1", model: "n", credential: "key:openai:a", upstreamModel: "up-n", weight: 1, priority: 0, maxOutputTokens: nil, created: .pending, updated: .pending)))
        _ = applier.apply(.putAlias(Alias(id: Alias.id(requested: "best", organization: nil), requestedModel: "best", routedTo: "m", organization: nil, created: .pending, updated: .pending)))
        _ = applier.apply(.putAlias(Alias(id: Alias.id(requested: "best", organization: "org:a"), requestedModel: "best", routedTo: "n", organization: "org:a", created: .pending, updated: .pending)))
        _ = applier.apply(.putFallback(FallbackChain(id: "n", chain: ["m"], triggers: [.timeout], created: .pending, updated: .pending)))
        let router = ModelRouter(seed: 1)
        #expect(router.plan(requested: "best", organization: nil, state: applier.state).map(\.model) == ["m", "m", "m"])
        let org = router.plan(requested: "best", organization: "org:a", state: applier.state)
        #expect(org.map(\.model) == ["n", "m", "m", "m"], "the org's alias, then its fallback chain")
        #expect(org.allSatisfy { $0.triggers == [.timeout] })
    }
}

/// A policy state built by applying commands (leader times 1 s apart).
struct Applier {
    private(set) var state: PolicyState
    private var index: UInt64 = 0

    init(_ state: PolicyState = PolicyState()) { self.state = state }

    /// The refusals so far (a fixture that is refused is a broken test).
    private(set) var refused: [PolicyError] = []

    @discardableResult
    mutating func apply(_ command: PolicyCommand) -> Result<PolicyOutcome, PolicyError> {
        index += 1
        let result = state.apply(PolicyEntry(actor: "test", command: command), time: Int64(index) * 1000, index: index + 10_000)
        if case let .failure(error) = result { refused.append(error) }
        return result
    }
}
