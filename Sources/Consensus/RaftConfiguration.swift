/// The fixed settings of one Raft node. Every limit has a name, a unit and a default.
public struct RaftConfiguration: Sendable {
    /// This node's id (not `noNode`).
    public var id: NodeID
    /// A follower that hears nothing from a leader for a random number of ticks in
    /// `electionTicks ..< 2 × electionTicks` starts an election.
    public var electionTicks = 10
    /// A leader sends heartbeats every `heartbeatTicks` ticks (must be < `electionTicks`).
    public var heartbeatTicks = 1
    /// A leader that has not heard from a quorum within an election timeout steps down,
    /// and voters ignore vote requests while they hear from a live leader (its lease).
    public var checkQuorum = true
    /// Candidates first ask whether they could win (pre-vote) so that a partitioned node
    /// rejoining does not disrupt the group with a higher term.
    public var preVote = true
    /// Entries per append message are limited to about this many bytes.
    public var appendBytesMax = 1 << 20
    /// Appends in flight to one follower in `.replicate` state.
    public var inflightAppendsMax = 256
    /// Committed entries handed to the application in one `Ready`, in bytes.
    public var applyBytesMax = 64 << 20
    /// Proposals are refused while this many bytes of entries are appended but not yet
    /// committed (0: no limit).
    public var uncommittedBytesMax = 64 << 20
    /// Read-index requests a leader holds while waiting for its first commit of the term.
    public var pendingReadIndexMax = 4096
    /// The last index the application applied before a restart (0 for a fresh node).
    public var applied: UInt64 = 0
    /// Seeds the generator of randomized election timeouts; Raft has no randomness of its own.
    public var randomSeed: UInt64

    /// A configuration for node `id` with the default limits.
    public init(id: NodeID, randomSeed: UInt64) {
        self.id = id
        self.randomSeed = randomSeed
    }

    func validate() {
        precondition(id != noNode, "a Raft node needs an id")
        precondition(heartbeatTicks > 0 && electionTicks > heartbeatTicks, "electionTicks must exceed heartbeatTicks > 0")
        precondition(appendBytesMax > 0 && inflightAppendsMax > 0 && applyBytesMax > 0 && pendingReadIndexMax > 0)
        precondition(uncommittedBytesMax >= 0)
    }
}

/// Why a proposal or request was refused.
public enum RaftError: Error, Equatable, Sendable {
    /// Only the leader accepts proposals; `leader` is the one this node knows of, or `noNode`.
    case notLeader(leader: NodeID)
    /// Leadership is being transferred; retry once the new leader is known.
    case transferInProgress
    /// Too many uncommitted bytes; retry later.
    case uncommittedLimit
    /// The log reached `RaftLimits.indexMax` and takes no more entries. An honest group
    /// never gets there; a faulty peer's snapshot can.
    case indexLimit
    /// A membership change is still in flight; changes go one at a time.
    case configurationChangeInProgress
    /// The change makes no sense for the current membership (named in `reason`).
    case invalidConfigurationChange(reason: String)
}
