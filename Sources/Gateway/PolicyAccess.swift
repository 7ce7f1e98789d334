import Policy

/// Why a policy read or write could not be served.
public enum PolicyAccessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The command was applied and refused by the state machine (nothing changed).
    case refused(PolicyError)
    /// The cluster could not commit or confirm in time (no leader, no quorum, a timeout).
    case unavailable(String)

    public var description: String {
        switch self {
        case let .refused(error): "\(error)"
        case let .unavailable(reason): reason
        }
    }
}

/// The node's applied policy, as the gateway reads it (DESIGN.md section 2). Reads are
/// local; `catchUp()` first makes them linearizable.
public protocol PolicyReader: Sendable {
    /// The state as applied on this node now: a copy-on-write value, cheap to take.
    var current: PolicyState { get }
    /// Waits until this node has applied every write acknowledged before the call (a Raft
    /// ReadIndex round to the leader).
    func catchUp() async throws(PolicyAccessError)
}

/// Policy changes through the Raft log, from any node.
public protocol PolicyWriter: Sendable {
    /// Appends `entry` to the log (forwarding it to the leader if need be), waits until it
    /// is applied on this node and returns what it did.
    func submit(_ entry: PolicyEntry) async throws(PolicyAccessError) -> PolicyOutcome
}
