import SeededRandom
/// The Raft state machine of one node: roles, terms, votes, the log and, on the leader,
/// every follower's progress. It does no I/O: input arrives through `tick()`, `step(_:)`
/// and the proposal methods; output leaves through `messages` and the log's unstable and
/// committed entries, which `RawNode` packs into a `Ready`.
struct Raft {
    let id: NodeID
    let configuration: RaftConfiguration

    /// The current term; never decreases.
    private(set) var term: UInt64 = 0
    /// Whom this node voted for in `term`; changes only from `noNode`, or with the term
    /// (asserted where a vote is cast, in `handleVoteRequest`).
    var vote: NodeID = noNode
    private(set) var role: Role = .follower
    /// The leader this node follows in `term`, or `noNode`.
    var leader: NodeID = noNode
    var log: RaftLog
    var tracker: ProgressTracker
    /// Messages to send after the next `Ready` is persisted.
    var messages: [Message] = []
    /// Confirmed read points for the application.
    var readStates: [ReadState] = []
    var readOnly = ReadOnlyQueue()
    /// Read-index requests received before this leader committed an entry of its term.
    var pendingReadIndexRequests: [Message] = []

    /// Ticks since the last election timeout reset (leader: since the last quorum check).
    var electionElapsed = 0
    var heartbeatElapsed = 0
    private(set) var randomizedElectionTimeout = 0
    private var random: SplitMix64

    /// The node leadership is being transferred to, or `noNode`.
    var leadTransferee: NodeID = noNode
    /// The index of the latest membership change proposed by this leader; no other change
    /// may be proposed before it is applied.
    var pendingConfigurationIndex: UInt64 = 0
    /// Bytes of entries appended by this leader and not yet committed.
    var uncommittedBytes = 0
    /// A leader owes its followers an append (new entries or a new commit index). Sent
    /// once when the next `Ready` is collected, so a burst of proposals or acknowledgements
    /// costs one append per follower instead of one each.
    var broadcastPending = false

    init(configuration: RaftConfiguration, storage: any LogStorage) throws {
        configuration.validate()
        id = configuration.id
        self.configuration = configuration
        random = SplitMix64(seed: configuration.randomSeed ^ (configuration.id &* 0x9E37_79B9_7F4A_7C15))
        log = try RaftLog(storage: storage, applyBytesMax: configuration.applyBytesMax)
        tracker = ProgressTracker(inflightsMax: configuration.inflightAppendsMax)
        let (hardState, membership) = try storage.initialState()
        tracker.apply(membership, nextIndex: log.lastIndex + 1)
        if !hardState.isEmpty {
            guard hardState.term <= RaftLimits.termMax else { throw RaftStateError.termBeyondLimit(hardState.term) }
            term = hardState.term
            vote = hardState.vote
            try log.restoreCommit(hardState.commit)
        }
        if configuration.applied > 0 { try log.restoreApplied(configuration.applied) }
        becomeFollower(term: term, leader: noNode)
    }

    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    var softState: SoftState { SoftState(leader: leader, role: role) }

    /// A node may campaign only as a voter.
    var isPromotable: Bool { tracker.isVoter(id) }

    // MARK: Role changes

    private mutating func reset(term newTerm: UInt64) {
        precondition(newTerm >= term, "term went back from \(term) to \(newTerm)")
        if newTerm != term {
            term = newTerm
            vote = noNode
        }
        leader = noNode
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout = configuration.electionTicks
            + Int.random(in: 0..<configuration.electionTicks, using: &random)
        leadTransferee = noNode
        tracker.resetVotes()
        let last = log.lastIndex
        for nodeID in tracker.progress.keys {
            let isLearner = tracker.progress[nodeID]!.isLearner
            var fresh = Progress(next: last + 1, inflightsMax: configuration.inflightAppendsMax, isLearner: isLearner)
            if nodeID == id { fresh.match = last }
            tracker.progress[nodeID] = fresh
        }
        pendingConfigurationIndex = 0
        uncommittedBytes = 0
        broadcastPending = false
        readOnly = ReadOnlyQueue()
        pendingReadIndexRequests = []
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        leader = newLeader
        role = .follower
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "a leader cannot become a pre-candidate")
        // Pre-vote changes neither the term nor the vote.
        tracker.resetVotes()
        leader = noNode
        role = .preCandidate
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader cannot become a candidate")
        // `hup`, the only way here, refuses to campaign at termMax.
        precondition(term < RaftLimits.termMax, "campaign at the term limit")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader (was \(role))")
        reset(term: term)
        leader = id
        role = .leader
        tracker.progress[id]?.becomeReplicate()
        // Changes appended by earlier leaders may still be uncommitted; treat them as pending.
        pendingConfigurationIndex = log.lastIndex
        // The no-op entry of the new term: committing it commits everything before it.
        // It is never refused: it has no bytes, and `hup` left room below indexMax (a
        // candidate's log does not change; an append or snapshot would make it a follower).
        do {
            try appendEntries([Entry(term: term, index: 0)])
        } catch {
            preconditionFailure("the empty entry of a new leader was refused: \(error)")
        }
    }

    // MARK: Time

    mutating func tick() {
        log.retryCommittedReads()
        switch role {
        case .leader: tickHeartbeat()
        default: tickElection()
        }
    }

    private mutating func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTimeout {
            electionElapsed = 0
            hup(transfer: false)
        }
    }

    private mutating func tickHeartbeat() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= configuration.electionTicks {
            electionElapsed = 0
            if configuration.checkQuorum {
                if !tracker.quorumActive(leader: id) {
                    becomeFollower(term: term, leader: noNode)
                    return
                }
                for nodeID in tracker.progress.keys where nodeID != id {
                    tracker.progress[nodeID]!.recentActive = false
                }
            }
            // A transfer that has not finished within an election timeout is abandoned.
            leadTransferee = noNode
        }
        guard role == .leader else { return }
        if heartbeatElapsed >= configuration.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat(context: readOnly.lastPendingContext ?? [])
        }
    }

    // MARK: Elections

    /// Starts an election (after a timeout, or at once for a leadership transfer).
    mutating func hup(transfer: Bool) {
        guard role != .leader, isPromotable else { return }
        // Terms are ≤ termMax (messages and storage are checked), so `term + 1` below
        // cannot overflow; at the limit itself the node stays a follower.
        guard term < RaftLimits.termMax else { return }
        // Likewise a leader needs room for its no-op entry.
        guard log.lastIndex < RaftLimits.indexMax else { return }
        // Without its last term the node cannot say how up to date it is (storage failed).
        guard log.lastTerm != nil else { return }
        // An unapplied membership change could make this node's view of the voters wrong.
        if hasUnappliedConfigurationChange() { return }
        if configuration.preVote && !transfer {
            campaign(preVote: true, transfer: false)
        } else {
            campaign(preVote: false, transfer: transfer)
        }
    }

    private func hasUnappliedConfigurationChange() -> Bool {
        guard log.committed > log.applied else { return false }
        // Entries that cannot be read might hold a change: assume they do.
        guard let pending = try? log.slice(max(log.applied + 1, log.firstIndex), log.committed + 1, bytesMax: .max) else {
            return true
        }
        return pending.contains { $0.kind == .configurationChange }
    }

    mutating func campaign(preVote: Bool, transfer: Bool) {
        let voteTerm: UInt64
        let kind: Message.Kind
        if preVote {
            becomePreCandidate()
            voteTerm = term + 1
            kind = .preVote
        } else {
            becomeCandidate()
            voteTerm = term
            kind = .vote
        }
        if poll(id, granted: true) == .won {
            // A group of one wins at once.
            if preVote { campaign(preVote: false, transfer: transfer) } else { becomeLeader() }
            return
        }
        // `hup` checked that storage answers; should it fail since, send no requests (this
        // election then times out, which is always safe).
        guard let lastTerm = log.lastTerm else { return }
        for voter in tracker.voters.sorted() where voter != id {
            var request = Message(kind: kind, from: id, to: voter, term: voteTerm)
            request.index = log.lastIndex
            request.logTerm = lastTerm
            if transfer { request.context = Message.campaignTransfer }
            messages.append(request)
        }
    }

    mutating func poll(_ voter: NodeID, granted: Bool) -> ProgressTracker.VoteResult {
        tracker.recordVote(voter, granted: granted)
        return tracker.tallyVotes().result
    }

    // MARK: Proposals

    /// Appends entries as leader (assigning term and index). Throws when the
    /// uncommitted-bytes limit refuses them, or they would pass `RaftLimits.indexMax`
    /// (which only a faulty peer's snapshot can bring near), so no log grows past it.
    mutating func appendEntries(_ entries: [Entry]) throws(RaftError) {
        precondition(role == .leader, "only a leader appends its own entries")
        let bytes = entries.reduce(0) { $0 + $1.data.count }
        let limit = configuration.uncommittedBytesMax
        if limit > 0 && uncommittedBytes > 0 && bytes > 0 && uncommittedBytes + bytes > limit { throw .uncommittedLimit }
        guard UInt64(entries.count) <= RaftLimits.indexMax - log.lastIndex else { throw .indexLimit }
        uncommittedBytes += bytes
        var last = log.lastIndex
        var stamped = entries
        for position in stamped.indices {
            last += 1
            stamped[position].term = term
            stamped[position].index = last
        }
        log.append(stamped)
        _ = tracker.progress[id]?.maybeUpdate(log.lastIndex)
        // A group of one commits at once.
        _ = maybeCommit()
    }

    /// Entries were committed and handed to the application: they no longer count as
    /// uncommitted.
    mutating func reduceUncommittedBytes(_ entries: [Entry]) {
        guard role == .leader else { return }
        let bytes = entries.reduce(0) { $0 + $1.data.count }
        uncommittedBytes = max(0, uncommittedBytes - bytes)
    }

    /// Advances the commit to what a quorum has; returns whether it moved.
    mutating func maybeCommit() -> Bool {
        log.maybeCommit(tracker.committed(), term: term)
    }

    var committedEntryInCurrentTerm: Bool {
        (try? log.term(log.committed)) == term
    }

    // MARK: Sending

    mutating func send(_ message: Message) {
        var message = message
        message.from = id
        switch message.kind {
        case .vote, .preVote, .voteResponse, .preVoteResponse:
            // Requests carry term + 1 ≥ 1; grants carry the request's term, which
            // `Message.validate()` checked is ≥ 1; rejections with term 0 are not sent
            // (`handleVoteRequest`).
            precondition(message.term != 0, "vote messages carry a term")
        case .readIndex, .transferLeader:
            message.term = 0
        default:
            message.term = term
        }
        messages.append(message)
    }
}
