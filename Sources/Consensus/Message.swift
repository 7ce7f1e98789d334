/// A Raft message between two nodes of the group.
public struct Message: Equatable, Sendable {
    /// The message kinds. Responses carry the responder's term.
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// Leader → follower: entries after (`index`, `logTerm`), and the leader's commit.
        case append = 1
        /// Follower → leader: accepted up to `index`, or `reject` with a hint.
        case appendResponse = 2
        /// Candidate → voter: a vote request for `term` with the candidate's last log position.
        case vote = 3
        /// Voter → candidate.
        case voteResponse = 4
        /// Like `vote`, for the term after the current one, without disturbing anybody.
        case preVote = 5
        /// Voter → pre-candidate.
        case preVoteResponse = 6
        /// Leader → follower: liveness, commit, and a read-index context.
        case heartbeat = 7
        /// Follower → leader.
        case heartbeatResponse = 8
        /// Leader → follower: install `snapshot`.
        case snapshot = 9
        /// Leader → transfer target: campaign now, skipping pre-vote.
        case timeoutNow = 10
        /// Follower → leader: a read-index request (`context` identifies it). Carries no term.
        case readIndex = 11
        /// Leader → follower: the read index for `context`.
        case readIndexResponse = 12
        /// To the leader: transfer leadership to the voter in `index` (`from` is the node that
        /// asks, or forwards the request). Carries no term.
        case transferLeader = 13
    }

    public var kind: Kind
    public var from: NodeID
    public var to: NodeID
    /// The sender's term (0 for the term-less kinds: `readIndex`, `transferLeader`).
    public var term: UInt64 = 0
    /// `append`: term of the entry at `index`. Vote requests: the candidate's last term.
    /// Rejections: the term of the follower's entry at `rejectHint`.
    public var logTerm: UInt64 = 0
    /// `append`: the entry before `entries`. Vote requests: the candidate's last index.
    /// Responses: the index accepted or rejected. `readIndexResponse`: the read index.
    /// `transferLeader`: the transferee.
    public var index: UInt64 = 0
    public var entries: [Entry] = []
    public var commit: UInt64 = 0
    public var reject = false
    public var rejectHint: UInt64 = 0
    public var snapshot: Snapshot?
    /// Read-index contexts, and `campaignTransfer` on vote requests of a transfer.
    public var context: [UInt8] = []

    /// A message; fill the other fields as the kind requires.
    public init(kind: Kind, from: NodeID, to: NodeID, term: UInt64 = 0) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
    }

    /// The context that marks a vote request as part of a leadership transfer, which lets
    /// it through voters that would otherwise ignore it inside a leader lease.
    public static let campaignTransfer: [UInt8] = Array("CampaignTransfer".utf8)

    var isResponse: Bool {
        switch kind {
        case .appendResponse, .voteResponse, .preVoteResponse, .heartbeatResponse, .readIndexResponse: true
        default: false
        }
    }
}
