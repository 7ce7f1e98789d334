import Policy
import Synchronization

/// This node's applied policy state, the outcome of each recently applied command, and
/// the applied index that reads and writes wait for. Fed by `NodeStateMachine` on the Raft
/// driver's thread; read from HTTP handlers.
final class PolicyStore: Sendable {
    /// Outcomes kept for writers to collect, at most (older ones are dropped first).
    static let outcomesKeptMax = 4_096

    private struct Inner {
        var state = PolicyState()
        var applied: UInt64 = 0
        var outcomes: [UInt64: Result<PolicyOutcome, PolicyError>] = [:]
        var outcomeOrder: [UInt64] = []
    }

    private let inner = Mutex(Inner())
    private let appliedSignal = ChangeSignal()

    /// The applied state.
    var current: PolicyState { inner.withLock { $0.state } }

    /// Applies a decoded entry made at the leader's `time`.
    func apply(_ entry: PolicyEntry, time: Int64, at index: UInt64) {
        inner.withLock { s in
            let outcome = s.state.apply(entry, time: time, index: index)
            s.outcomes[index] = outcome
            s.outcomeOrder.append(index)
            if s.outcomeOrder.count > Self.outcomesKeptMax {
                let dropped = s.outcomeOrder.prefix(Self.outcomesKeptMax / 4)
                for old in dropped { s.outcomes[old] = nil }
                s.outcomeOrder.removeFirst(dropped.count)
            }
        }
    }

    /// Records that every entry up to `index` is applied (whatever its kind).
    func noteApplied(_ index: UInt64) {
        inner.withLock { $0.applied = max($0.applied, index) }
        if appliedSignal.hasWaiters { appliedSignal.fire() }
    }

    /// Replaces the state with a snapshot's, taken at `index`.
    func restore(_ state: PolicyState, at index: UInt64) {
        inner.withLock { s in
            s.state = state
            s.applied = index
            s.outcomes = [:]
            s.outcomeOrder = []
        }
        appliedSignal.fire()
    }

    /// The snapshot bytes of the current state.
    func snapshot() -> [UInt8] { PolicyCodec.snapshot(current) }

    var appliedIndex: UInt64 { inner.withLock { $0.applied } }

    /// Waits until `index` is applied; false when `timeout` passed first.
    func waitApplied(_ index: UInt64, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = appliedSignal.generation
            if appliedIndex >= index { return true }
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return false }
            await appliedSignal.wait(past: seen, timeout: deadline - now)
        }
    }

    /// What the command at `index` did, while it is among the recent ones.
    func outcome(at index: UInt64) -> Result<PolicyOutcome, PolicyError>? {
        inner.withLock { $0.outcomes[index] }
    }
}
