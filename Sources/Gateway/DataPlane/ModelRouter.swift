import HTTPTypes
import Policy
import SeededRandom
import Synchronization

/// One way to try a request: a model, the deployment serving it and where to send it.
struct Attempt: Sendable {
    /// The public model name that answers (sent back as `x-weir-model`).
    let model: String
    let deployment: Deployment?
    let credential: Credential?
    let provider: Credential.Provider
    let upstreamModel: String
    /// The failures of this attempt that move on to the next one.
    let triggers: [FallbackTrigger]
}

/// Turns a requested model into the ordered attempts (DESIGN.md section 3, stage route):
/// the organization's alias, else the global one; the model's deployments in the order of
/// the routing strategy; then each model of its fallback chain the same way.
final class ModelRouter: Sendable {
    /// The largest deployment weight counted (the policy's own bound).
    static let weightMax = 1_000_000

    /// Turns of the round-robin strategy, per model.
    private let turns = Mutex<[String: Int]>([:])
    /// Models whose turn counter is kept (the busiest stay).
    static let turnModelsMax = 10_000
    /// In-flight requests and recent latencies per deployment.
    let stats = DeploymentStats()
    /// The dice of the weighted strategy.
    private let dice: Mutex<SplitMix64>

    /// `seed` makes the weighted order replayable (tests); by default it is random.
    init(seed: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        dice = Mutex(SplitMix64(seed: seed))
    }

    func plan(requested: String, organization: String?, state: PolicyState) -> [Attempt] {
        let primary = state.resolveAlias(requested, organization: organization)
        let fallback = state.fallbacks[primary]
        let models = [primary] + (fallback?.chain ?? [])
        // Moving on inside a model's deployments, or to the fallbacks, happens on the
        // chain's triggers (every failure when the model has no chain).
        let triggers = fallback?.triggers ?? FallbackTrigger.allCases
        var attempts: [Attempt] = []
        for model in models {
            let deployments = order(state.deployments.values.filter { $0.model == model }, model: model, state: state)
            for deployment in deployments {
                guard let credential = state.credentials[deployment.credential] else { continue }
                attempts.append(Attempt(
                    model: model, deployment: deployment, credential: credential, provider: credential.provider,
                    upstreamModel: deployment.upstreamModel, triggers: triggers))
            }
            if deployments.isEmpty, state.settings.ollamaEnabled, model.hasPrefix("ollama/") {
                attempts.append(Attempt(
                    model: model, deployment: nil, credential: nil, provider: .ollama,
                    upstreamModel: String(model.dropFirst("ollama/".count)), triggers: triggers))
            }
        }
        return attempts
    }

    /// `deployments` in the order the routing strategy tries them; priority (lower
    /// first) breaks ties.
    private func order(_ deployments: [Deployment], model: String, state: PolicyState) -> [Deployment] {
        let byPriority = deployments.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }
        guard byPriority.count > 1 else { return byPriority }
        switch state.settings.routingStrategy {
        case .priority:
            return byPriority
        case .roundRobin:
            let start = nextTurn(model) % byPriority.count
            return Array(byPriority[start...] + byPriority[..<start])
        case .weighted:
            // Weighted order without replacement: each pick by weight among the rest.
            var rest = byPriority, ordered: [Deployment] = []
            while !rest.isEmpty {
                // Weights are validated on write (1...1e6); clamped again here, since a
                // snapshot from a peer or the disk reaches this too.
                func weight(_ d: Deployment) -> Int { min(max(1, d.weight), Self.weightMax) }
                let total = rest.reduce(0) { $0 + weight($1) }
                var roll = dice.withLock { Int.random(in: 0..<total, using: &$0) }
                let index = rest.firstIndex { roll -= weight($0); return roll < 0 } ?? 0
                ordered.append(rest.remove(at: index))
            }
            return ordered
        case .lowestCost:
            // Input plus output price per 1k; unpriced deployments last.
            func cost(_ d: Deployment) -> Int64 {
                let provider = state.credentials[d.credential]?.provider.rawValue
                guard let price = state.price(credential: d.credential, provider: provider, model: d.upstreamModel) else { return .max }
                return price.inputNanoUSDPer1k.saturatingSum(price.outputNanoUSDPer1k)
            }
            return byPriority.map { ($0, cost($0)) }.enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0)
        case .lowestLatency:
            // Untried deployments (no samples yet) first, so each gets measured.
            let latency = stats.latencies(byPriority.map(\.id))
            return byPriority.enumerated().sorted { (latency[$0.offset] ?? -1, $0.offset) < (latency[$1.offset] ?? -1, $1.offset) }.map(\.element)
        case .leastBusy:
            let busy = stats.inFlight(byPriority.map(\.id))
            return byPriority.enumerated().sorted { (busy[$0.offset], $0.offset) < (busy[$1.offset], $1.offset) }.map(\.element)
        }
    }

    private func nextTurn(_ model: String) -> Int {
        turns.withLock { turns in
            if turns.count >= Self.turnModelsMax, turns[model] == nil { turns.removeAll(keepingCapacity: true) }
            let turn = turns[model, default: 0]
            turns[model] = turn &+ 1
            return turn
        }
    }
}

/// Live measurements per deployment for the routing strategies: requests in flight and a
/// moving window of recent latencies.
final class DeploymentStats: Sendable {
    /// Latency samples kept per deployment (the moving window).
    static let latencyWindow = 32

    private struct Entry {
        var inFlight = 0
        var samples: [Int64] = []
        var next = 0
    }

    /// The one entry every pass-through (`ollama/…`) model shares: their names come from
    /// clients, and an entry per name would grow without bound.
    static let passThroughKey = "ollama/*"

    private let entries = Mutex<[String: Entry]>([:])

    func started(_ deployment: String) { entries.withLock { $0[deployment, default: Entry()].inFlight += 1 } }

    /// An attempt ended; `latencyMicroseconds` to the first byte when it answered.
    func finished(_ deployment: String, latencyMicroseconds: Int64?) {
        entries.withLock { entries in
            var entry = entries[deployment, default: Entry()]
            entry.inFlight = max(0, entry.inFlight - 1)
            if let latencyMicroseconds {
                if entry.samples.count < Self.latencyWindow { entry.samples.append(latencyMicroseconds) } else { entry.samples[entry.next] = latencyMicroseconds }
                entry.next = (entry.next + 1) % Self.latencyWindow
            }
            entries[deployment] = entry
        }
    }

    /// The mean latency of each deployment's window, nil when it has none.
    func latencies(_ deployments: [String]) -> [Int64?] {
        entries.withLock { entries in
            deployments.map { id in entries[id].flatMap { $0.samples.isEmpty ? nil : $0.samples.reduce(0, +) / Int64($0.samples.count) } }
        }
    }

    func inFlight(_ deployments: [String]) -> [Int] {
        entries.withLock { entries in deployments.map { entries[$0]?.inFlight ?? 0 } }
    }
}
