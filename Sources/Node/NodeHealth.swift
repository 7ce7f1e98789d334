import Gateway
import Synchronization

/// The node's readiness conditions: named things the node waits for before it should
/// get traffic (`storage` until the database is open; later `leader`, `caught_up`, and
/// `draining` while it drains). Thread-safe.
public final class NodeHealth: NodeStatusProvider {
    /// The node's identity.
    public let identity: NodeIdentity
    private let unmet: Mutex<Set<String>>

    /// A health state waiting for `conditions`.
    public init(identity: NodeIdentity, waitingFor conditions: Set<String>) {
        self.identity = identity
        self.unmet = Mutex(conditions)
    }

    /// Marks `condition` as met.
    public func met(_ condition: String) { _ = unmet.withLock { $0.remove(condition) } }

    /// Marks `condition` as unmet (e.g. `draining`).
    public func unmet(_ condition: String) { _ = unmet.withLock { $0.insert(condition) } }

    public func readiness() -> Readiness { Readiness(waitingFor: Array(unmet.withLock { $0 })) }
}
