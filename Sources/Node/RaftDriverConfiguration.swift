import Consensus
import Transport

/// Settings of the Raft driver. Every limit has a name, a unit and a default.
public struct RaftDriverConfiguration: Sendable {
    /// This node's id.
    public var nodeID: UInt64
    /// The real time of one Raft tick.
    public var tickMilliseconds = 50
    /// Election timeout base in ticks (randomized up to twice this): 0.5 to 1 s by default.
    public var electionTicks = 10
    /// Heartbeat interval in ticks.
    public var heartbeatTicks = 2
    /// Take a snapshot after this many applied entries.
    public var snapshotEveryEntries = 10_000
    /// Entries kept behind a snapshot, so a briefly lagging follower needs no snapshot.
    public var compactionMarginEntries = 1_000
    /// A snapshot message larger than this goes to the follower in chunks of this size.
    public var snapshotChunkBytes = 1 << 20
    /// How long the leader waits for the answer to one chunk.
    public var snapshotChunkTimeoutMilliseconds = 30_000
    /// The largest snapshot stream accepted from a leader, in bytes.
    public var snapshotBytesMax = 1 << 30
    /// How long a proposal may wait to commit before the caller gets `.timedOut`.
    public var proposalTimeoutMilliseconds = 5_000
    /// Proposals awaiting their commit on this node (local and forwarded ones), at most.
    public var pendingProposalsMax = 10_000
    /// The leader promotes learners that have caught up to voters.
    public var promoteLearners = true
    /// How often the leader looks for learners to promote, in ticks.
    public var promotionCheckTicks = 10
    /// A learner counts as caught up when its log is at most this many entries behind.
    public var promotionLagEntriesMax = 64
    /// Seeds the election-timeout jitter.
    public var randomSeed: UInt64

    /// Defaults for node `nodeID`.
    public init(nodeID: UInt64, randomSeed: UInt64) {
        self.nodeID = nodeID
        self.randomSeed = randomSeed
    }

    var proposalTimeoutTicks: Int { max(1, proposalTimeoutMilliseconds / tickMilliseconds) }

    func raftConfiguration(applied: UInt64) -> RaftConfiguration {
        var configuration = RaftConfiguration(id: nodeID, randomSeed: randomSeed)
        configuration.electionTicks = electionTicks
        configuration.heartbeatTicks = heartbeatTicks
        configuration.applied = applied
        return configuration
    }
}

/// Why a proposal failed, worded for the caller.
public enum ProposalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No leader is known right now (an election is under way, or no quorum).
    case noLeader
    /// The proposal did not commit before the deadline; it may still commit later.
    case timedOut
    /// The entry was replaced by a new leader's log before it committed; retry.
    case dropped
    /// This node is no longer a member of the group.
    case notMember
    /// The leader refused it (`reason` from Raft: a transfer under way, too much pending …).
    case refused(String)
    /// Too many proposals are waiting on this node.
    case tooManyPending

    public var description: String {
        switch self {
        case .noLeader: "no Raft leader is known right now; retry in a moment"
        case .timedOut: "the proposal did not commit in time; it may still commit, check before retrying"
        case .dropped: "the proposal was lost in a leader change; retry it"
        case .notMember: "this node is not a member of the cluster"
        case let .refused(reason): "the leader refused the proposal: \(reason)"
        case .tooManyPending: "too many proposals are waiting on this node; retry later"
        }
    }
}

extension MessageType {
    /// An encoded Raft message.
    static let raft = MessageType(0x0100)
    /// A follower forwards a proposal to the leader (request/reply).
    static let forwardedProposal = MessageType(0x0101)
    /// The leader's answer to a forwarded proposal.
    static let forwardedProposalResult = MessageType(0x0102)
}
