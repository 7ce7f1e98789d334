import Gateway
import Synchronization

/// The node's readiness conditions: named things the node waits for before it should
/// get traffic (`storage` until the database is open; later `leader`, `caught_up`, and
/// `draining` while it drains). Thread-safe.
public final class NodeHealth: NodeStatusProvider {
    /// The node's identity.
    public let identity: NodeIdentity
    private let unmet: Mutex<Set<String>>
    private let catchUpLag = Mutex<UInt64?>(nil)
    /// Counts leader changes, so a grace period that has run out can tell whether a
    /// leader was heard of meanwhile.
    private let leaderChanges = Mutex<UInt64>(0)

    /// A health state waiting for `conditions`.
    public init(identity: NodeIdentity, waitingFor conditions: Set<String>) {
        self.identity = identity
        self.unmet = Mutex(conditions)
    }

    /// Marks `condition` as met.
    public func met(_ condition: String) { _ = unmet.withLock { $0.remove(condition) } }

    /// Marks `condition` as unmet (e.g. `draining`).
    public func unmet(_ condition: String) { _ = unmet.withLock { $0.insert(condition) } }

    /// Records that the node knows a leader, or has lost it. A lost leader makes the node
    /// unready only after `grace` without a new one: an ordinary election (one or two
    /// election timeouts) must not take every node out of the load balancer at once,
    /// while a node cut off from its cluster for longer stops getting traffic.
    public func leaderChanged(known: Bool, grace: Duration) {
        let change = leaderChanges.withLock { count in
            count &+= 1
            return count
        }
        if known { met("leader"); return }
        guard grace > .zero else { unmet("leader"); return }
        Task { [self] in
            try? await Task.sleep(for: grace)
            leaderChanges.withLock { count in
                // Under the lock, so a leader heard of meanwhile wins.
                if count == change { unmet("leader") }
            }
        }
    }

    /// Records how far behind the leader's commit index the node was when it last asked,
    /// and whether that is close enough (`catch_up`).
    public func setCatchUp(lag: UInt64, met: Bool) {
        catchUpLag.withLock { $0 = lag }
        if met { self.met("catch_up") } else { self.unmet("catch_up") }
    }

    public func readiness() -> Readiness {
        Readiness(waitingFor: Array(unmet.withLock { $0 }), lag: catchUpLag.withLock { $0 })
    }
}
