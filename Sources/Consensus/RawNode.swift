/// What the application must do next, produced by `RawNode.ready()`. Handle it in this
/// order, then call `advance(_:)`:
///
/// 1. persist `snapshot` (if any), `entries` and `hardState` (if any), synced to disk when
///    `mustSync`;
/// 2. send `messages` (they may depend on what step 1 persisted);
/// 3. apply `committedEntries` to the state machine (calling
///    `applyConfigurationChange` for membership entries) and serve `readStates`;
/// 4. `advance(ready)`.
public struct Ready: Sendable {
    /// The leader and role, when they changed since the last `Ready`.
    public var softState: SoftState?
    /// The hard state to persist, when it changed.
    public var hardState: HardState?
    /// A snapshot to persist and install, when the leader sent one.
    public var snapshot: Snapshot?
    /// Entries to append to stable storage (replacing any from their first index on).
    public var entries: [Entry]
    /// Entries committed and ready to apply, in order.
    public var committedEntries: [Entry]
    /// Messages to send once the writes above are durable.
    public var messages: [Message]
    /// Linearizable read points confirmed since the last `Ready`.
    public var readStates: [ReadState]
    /// Whether the writes must be synced before sending (term, vote or entries changed).
    public var mustSync: Bool

    /// A `Ready` (the driver gets them from `RawNode.ready()`; storage tests build their own).
    public init(
        softState: SoftState? = nil, hardState: HardState? = nil, snapshot: Snapshot? = nil, entries: [Entry] = [],
        committedEntries: [Entry] = [], messages: [Message] = [], readStates: [ReadState] = [], mustSync: Bool = true
    ) {
        self.softState = softState
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
        self.committedEntries = committedEntries
        self.messages = messages
        self.readStates = readStates
        self.mustSync = mustSync
    }

    /// True when there is nothing to do.
    public var isEmpty: Bool {
        softState == nil && hardState == nil && snapshot == nil && entries.isEmpty
            && committedEntries.isEmpty && messages.isEmpty && readStates.isEmpty
    }
}

/// The leader's view of one follower, for status reports and for the application to
/// decide when a learner has caught up.
public struct FollowerProgress: Equatable, Sendable {
    public var match: UInt64
    public var next: UInt64
    public var state: String
    public var isLearner: Bool
    public var recentActive: Bool
}

/// A snapshot of a node's Raft state for operators.
public struct RaftStatus: Equatable, Sendable {
    public var id: NodeID
    public var hardState: HardState
    public var softState: SoftState
    public var applied: UInt64
    public var lastIndex: UInt64
    public var configuration: ConfigurationState
    /// The transfer target, or `noNode`.
    public var leadTransferee: NodeID
    /// On the leader only: every member's progress.
    public var progress: [NodeID: FollowerProgress]
}

/// The application's handle on one Raft node, in the style of etcd's `RawNode`: a pure
/// state machine driven by `tick()`, `step(_:)` and proposals, whose output is collected
/// with `ready()` and acknowledged with `advance(_:)`. Not thread-safe: one owner.
public struct RawNode {
    var raft: Raft
    private var previousSoftState: SoftState
    private var previousHardState: HardState
    private var pendingAdvance = false

    /// A node over `storage`. A new node's storage holds the initial membership (see
    /// `MemoryStorage(bootstrap:)`); a restarted node's holds what it persisted, and
    /// `configuration.applied` says how far it had applied.
    public init(configuration: RaftConfiguration, storage: any LogStorage) throws {
        raft = try Raft(configuration: configuration, storage: storage)
        previousSoftState = raft.softState
        previousHardState = raft.hardState
    }

    /// Advances logical time by one tick (elections, heartbeats, quorum checks).
    public mutating func tick() { raft.tick() }

    /// Starts an election now (tests and operators; normally ticks do it).
    public mutating func campaign() { raft.hup(transfer: false) }

    /// Handles a message from a peer. Messages addressed elsewhere are a caller bug.
    /// A message that fails `Message.validate()` is dropped (the wire decoder refuses
    /// those already; this covers callers that build messages themselves).
    public mutating func step(_ message: Message) {
        // Responses from nodes that are not members are ignored, as are messages to us
        // from ourselves (a loopback would be a wiring bug).
        guard message.from != raft.id, (try? message.validate()) != nil else { return }
        raft.step(message)
    }

    /// Proposes `data` for the log. Throws when this node is not the leader (naming the
    /// leader it knows), while leadership moves, over the uncommitted-bytes limit, or at
    /// the index limit.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) {
        guard raft.role == .leader else { throw .notLeader(leader: raft.leader) }
        guard raft.leadTransferee == noNode else { throw .transferInProgress }
        try raft.appendEntries([Entry(term: 0, index: 0, data: data)])
        raft.broadcastPending = true
    }

    /// Proposes a membership change (one at a time).
    public mutating func proposeConfigurationChange(_ change: ConfigurationChange) throws(RaftError) {
        try raft.proposeConfigurationChange(change)
    }

    /// Applies a committed membership change; call it when applying its entry.
    @discardableResult
    public mutating func applyConfigurationChange(_ change: ConfigurationChange) -> ConfigurationState {
        raft.applyConfigurationChange(change)
    }

    /// Asks the leader to hand leadership to `transferee` (which must be a voter).
    public mutating func transferLeadership(to transferee: NodeID) {
        // `from` is this node, so that a follower forwarding the request to the leader is
        // its true sender (the transport drops a message whose `from` is another node);
        // the transferee travels in `index`.
        var request = Message(kind: .transferLeader, from: raft.id, to: raft.id)
        request.term = 0
        request.index = transferee
        raft.step(request)
    }

    /// Requests a linearizable read point tagged `context` (unique per request). The
    /// answer arrives as a `ReadState` in a later `Ready`; none arrives if leadership is
    /// lost meanwhile, so callers time out and retry.
    public mutating func readIndex(context: [UInt8]) {
        precondition(!context.isEmpty, "a read-index request needs a context")
        var request = Message(kind: .readIndex, from: noNode, to: raft.id)
        request.context = context
        if raft.role == .leader {
            raft.handleReadIndexRequest(request)
        } else {
            request.from = raft.id
            raft.step(request)
        }
    }

    /// Reports the outcome of sending a snapshot to `peer`.
    public mutating func reportSnapshot(to peer: NodeID, failed: Bool) { raft.reportSnapshot(to: peer, failed: failed) }

    /// Reports that `peer` could not be reached.
    public mutating func reportUnreachable(_ peer: NodeID) { raft.reportUnreachable(peer) }

    /// True when `ready()` would return something to do.
    public var hasReady: Bool {
        raft.broadcastPending || raft.softState != previousSoftState || (!raft.hardState.isEmpty && raft.hardState != previousHardState)
            || raft.log.unstable.snapshot != nil || !raft.log.unstableEntries.isEmpty || !raft.messages.isEmpty
            || !raft.readStates.isEmpty || raft.log.hasNextCommittedEntries
    }

    /// Collects what the application must do now. Call `advance(_:)` after handling it,
    /// before the next `ready()`.
    public mutating func ready() -> Ready {
        precondition(!pendingAdvance, "ready() called again before advance()")
        raft.flushBroadcast()
        let softState = raft.softState
        let hardState = raft.hardState
        let committed = raft.log.nextCommittedEntries()
        let ready = Ready(
            softState: softState != previousSoftState ? softState : nil,
            hardState: hardState != previousHardState && !hardState.isEmpty ? hardState : nil,
            snapshot: raft.log.unstable.snapshot,
            entries: raft.log.unstableEntries,
            committedEntries: committed,
            messages: raft.messages,
            readStates: raft.readStates,
            mustSync: hardState.term != previousHardState.term || hardState.vote != previousHardState.vote
                || !raft.log.unstableEntries.isEmpty || raft.log.unstable.snapshot != nil)
        raft.messages = []
        raft.readStates = []
        previousSoftState = softState
        if let last = committed.last { raft.log.acceptApplying(last.index) }
        pendingAdvance = true
        return ready
    }

    /// Acknowledges that `ready` was persisted, sent and applied.
    public mutating func advance(_ ready: Ready) {
        precondition(pendingAdvance, "advance() without ready()")
        pendingAdvance = false
        if let hardState = ready.hardState { previousHardState = hardState }
        if let snapshot = ready.snapshot { raft.log.stableSnapshotTo(snapshot.metadata.index) }
        if let last = ready.entries.last { raft.log.stableTo(index: last.index, term: last.term) }
        if let last = ready.committedEntries.last {
            raft.log.appliedTo(last.index)
            raft.reduceUncommittedBytes(ready.committedEntries)
        } else if let snapshot = ready.snapshot {
            raft.log.appliedTo(snapshot.metadata.index)
        }
    }

    /// Why committed entries could not be read from storage at the last attempt, or nil.
    /// While set, `Ready`s carry no committed entries, and the next `tick()` retries. The
    /// driver should report it: the stored log is unreadable or corrupt.
    public var committedReadFailure: (any Error)? { raft.log.committedReadFailure }

    /// The leader this node knows of and its role (cheap; `status` builds more).
    public var softState: SoftState { raft.softState }

    /// The current term, vote and commit index.
    public var hardState: HardState { raft.hardState }

    /// The last index in this node's log (stable or not).
    public var lastIndex: UInt64 { raft.log.lastIndex }

    /// The term of `index` in this node's log, if it still has it.
    public func term(at index: UInt64) -> UInt64? { try? raft.log.term(index) }

    /// The node's state for status pages and for deciding when a learner has caught up.
    public var status: RaftStatus {
        var progress: [NodeID: FollowerProgress] = [:]
        if raft.role == .leader {
            for (id, entry) in raft.tracker.progress {
                progress[id] = FollowerProgress(
                    match: entry.match, next: entry.next, state: entry.state.rawValue,
                    isLearner: entry.isLearner, recentActive: entry.recentActive)
            }
        }
        return RaftStatus(
            id: raft.id, hardState: raft.hardState, softState: raft.softState, applied: raft.log.applied,
            lastIndex: raft.log.lastIndex, configuration: raft.tracker.configuration,
            leadTransferee: raft.leadTransferee, progress: progress)
    }
}
