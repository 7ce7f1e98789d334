/// A node's id in the Raft group. 0 means "none" (no leader, no vote).
public typealias NodeID = UInt64

/// The reserved id meaning "no node".
public let noNode: NodeID = 0

/// One entry of the replicated log.
public struct Entry: Equatable, Sendable {
    /// What the entry carries.
    public enum Kind: UInt8, Sendable {
        /// Application data (a policy command), or empty: the no-op a new leader appends.
        case normal = 0
        /// An encoded `ConfigurationChange`.
        case configurationChange = 1
    }

    /// The leader's term when the entry was created.
    public var term: UInt64
    /// The entry's position in the log, from 1.
    public var index: UInt64
    /// Normal data or a configuration change.
    public var kind: Kind
    /// The payload; opaque to Raft for normal entries.
    public var data: [UInt8]

    /// An entry.
    public init(term: UInt64, index: UInt64, kind: Kind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes this entry counts for in size limits (payload plus a fixed overhead).
    var sizeBytes: Int { data.count + 24 }
}

/// The state Raft must persist before it sends any message that depends on it.
public struct HardState: Equatable, Sendable {
    /// The current term.
    public var term: UInt64 = 0
    /// The candidate voted for in `term`, or `noNode`.
    public var vote: NodeID = noNode
    /// The highest index known to be committed.
    public var commit: UInt64 = 0

    /// A hard state.
    public init(term: UInt64 = 0, vote: NodeID = noNode, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    /// True for the zero state of a node that never ran.
    public var isEmpty: Bool { self == HardState() }
}

/// The membership of the group: voters decide, learners only receive the log.
public struct ConfigurationState: Equatable, Sendable {
    /// Nodes that vote and count toward quorums, sorted.
    public var voters: [NodeID]
    /// Nodes that receive the log but do not vote, sorted.
    public var learners: [NodeID]

    /// A membership; the lists are sorted and must not overlap.
    public init(voters: [NodeID] = [], learners: [NodeID] = []) {
        precondition(Set(voters).isDisjoint(with: learners), "a node is a voter or a learner, not both")
        self.voters = voters.sorted()
        self.learners = learners.sorted()
    }

    /// Every member, voters then learners.
    public var members: [NodeID] { voters + learners }
}

/// Where a snapshot stands in the log, and the membership in force there.
public struct SnapshotMetadata: Equatable, Sendable {
    /// The index of the last entry the snapshot covers.
    public var index: UInt64
    /// That entry's term.
    public var term: UInt64
    /// The membership as of `index`.
    public var configuration: ConfigurationState

    /// Snapshot metadata.
    public init(index: UInt64 = 0, term: UInt64 = 0, configuration: ConfigurationState = ConfigurationState()) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }
}

/// The applied state up to some index, replacing the log before it.
public struct Snapshot: Equatable, Sendable {
    /// Where it stands.
    public var metadata: SnapshotMetadata
    /// The state machine's encoded state; opaque to Raft.
    public var data: [UInt8]

    /// A snapshot.
    public init(metadata: SnapshotMetadata = SnapshotMetadata(), data: [UInt8] = []) {
        self.metadata = metadata
        self.data = data
    }

    /// True for the empty snapshot (index 0).
    public var isEmpty: Bool { metadata.index == 0 }
}

/// A membership change, carried in a `.configurationChange` entry. Changes apply one at a
/// time: a joining node is added as a learner, catches up, then is promoted to voter.
public struct ConfigurationChange: Equatable, Sendable {
    /// What changes.
    public enum Kind: UInt8, Sendable {
        /// Make `node` a voter (also promotes a learner).
        case addVoter = 0
        /// Make `node` a learner (also demotes a voter).
        case addLearner = 1
        /// Remove `node` from the group.
        case remove = 2
    }

    /// What changes.
    public var kind: Kind
    /// The node it concerns.
    public var node: NodeID
    /// Opaque to Raft: the application records e.g. the node's address here.
    public var context: [UInt8]

    /// A change.
    public init(_ kind: Kind, node: NodeID, context: [UInt8] = []) {
        precondition(node != noNode, "a configuration change names a node")
        self.kind = kind
        self.node = node
        self.context = context
    }
}

/// A linearizable read point: once the node has applied `index`, a read of local state
/// tagged `context` is linearizable.
public struct ReadState: Equatable, Sendable {
    /// The commit index at the time the read was confirmed by a quorum.
    public var index: UInt64
    /// The caller's tag for the read.
    public var context: [UInt8]

    /// A read state.
    public init(index: UInt64, context: [UInt8]) {
        self.index = index
        self.context = context
    }
}

/// A node's role.
public enum Role: String, Sendable {
    case follower, preCandidate, candidate, leader
}

/// The volatile state that the application may want to observe.
public struct SoftState: Equatable, Sendable {
    /// The leader this node knows of, or `noNode`.
    public var leader: NodeID
    /// This node's role.
    public var role: Role
}
