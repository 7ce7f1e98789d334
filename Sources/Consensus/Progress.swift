/// The leader's view of one follower's log (Raft's `nextIndex`/`matchIndex` plus flow
/// control).
///
/// Invariant: `match < next`. In `.probe` the leader sends one append at a time and waits;
/// in `.replicate` it streams optimistically up to `inflights.capacity` appends; in
/// `.snapshot` it sends nothing until the snapshot is reported.
struct Progress: Equatable {
    enum State: String, Equatable { case probe, replicate, snapshot }

    /// The highest index known to be replicated on the follower.
    var match: UInt64 = 0
    /// The next index to send.
    var next: UInt64
    var state: State = .probe
    /// The snapshot index in flight (`.snapshot` state).
    var pendingSnapshot: UInt64 = 0
    /// Heard from since the last check-quorum round.
    var recentActive = false
    /// `.probe`: an append was sent and no answer came yet.
    var probeSent = false
    var inflights: Inflights
    var isLearner: Bool

    init(next: UInt64, inflightsMax: Int, isLearner: Bool) {
        self.next = next
        self.inflights = Inflights(capacity: inflightsMax)
        self.isLearner = isLearner
    }

    private mutating func reset(to state: State) {
        probeSent = false
        pendingSnapshot = 0
        self.state = state
        inflights.reset()
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            let pending = pendingSnapshot
            reset(to: .probe)
            next = max(match + 1, pending + 1)
        } else {
            reset(to: .probe)
            next = match + 1
        }
    }

    mutating func becomeReplicate() {
        reset(to: .replicate)
        next = match + 1
    }

    mutating func becomeSnapshot(_ index: UInt64) {
        reset(to: .snapshot)
        pendingSnapshot = index
    }

    /// The follower acknowledged `index`, which the leader checked is within its log (so
    /// ≤ `RaftLimits.indexMax`, and `index + 1` cannot overflow). Returns whether `match`
    /// advanced.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// An append through `index` was sent in `.replicate`.
    mutating func optimisticUpdate(_ index: UInt64) { next = index + 1 }

    /// The follower rejected an append at `rejected`; `matchHint` is where its log may
    /// match (the leader bounds it by its last index). Returns false for a stale
    /// rejection. `next` stays past `match` (so `next - 1` cannot underflow). A hint below
    /// `match` says the follower no longer has entries it acknowledged: its log was lost
    /// (a wiped disk; the node's incarnation check refuses it as a voter). Its `match`
    /// becomes what it has now and the leader repairs its log from there: kept, the old
    /// `match` would have the leader probe the same index for good.
    mutating func maybeDecrease(rejected: UInt64, matchHint: UInt64) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        if matchHint < match { match = matchHint }
        next = max(min(rejected, matchHint + 1), match + 1)
        probeSent = false
        return true
    }

    /// No append may be sent now.
    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.isFull
        case .snapshot: true
        }
    }
}

/// The last indexes of appends in flight to one follower, oldest first, at most `capacity`.
struct Inflights: Equatable {
    let capacity: Int
    private var indexes: [UInt64] = []

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var isFull: Bool { indexes.count >= capacity }
    var count: Int { indexes.count }

    /// Records an append through `index`; `sendAppend` sends none while `isFull`
    /// (`isPaused`), and indexes grow because `next` only moves forward in `.replicate`.
    mutating func add(_ index: UInt64) {
        precondition(!isFull, "inflights overflow")
        precondition(indexes.last.map { index > $0 } ?? true, "inflight indexes must increase")
        indexes.append(index)
    }

    /// Frees every append whose last index is ≤ `index`.
    mutating func freeLE(_ index: UInt64) {
        let freed = indexes.prefix { $0 <= index }.count
        indexes.removeFirst(freed)
    }

    /// Frees the oldest, so a heartbeat response unblocks a full window.
    mutating func freeFirst() {
        if !indexes.isEmpty { indexes.removeFirst() }
    }

    mutating func reset() { indexes.removeAll(keepingCapacity: true) }
}
