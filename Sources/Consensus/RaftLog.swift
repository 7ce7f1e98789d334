/// The log as Raft sees it: the stable part in `LogStorage` followed by the unstable part
/// waiting to be persisted, plus the commit and apply positions.
///
/// Invariants (checked by preconditions, on in release builds):
/// `firstIndex - 1 <= applied <= applying <= committed <= lastIndex`; `committed` never
/// decreases; no entry at or before `committed` is ever replaced.
struct RaftLog {
    let storage: any LogStorage
    var unstable: UnstableLog
    /// The highest index known committed.
    private(set) var committed: UInt64
    /// The highest index handed to the application for applying (in a `Ready`).
    private(set) var applying: UInt64
    /// The highest index the application has applied.
    private(set) var applied: UInt64
    /// Bytes of committed entries handed out per `Ready`.
    let applyBytesMax: Int
    /// Why the last read of committed entries failed, if it did. No more are handed out
    /// until the next tick retries, so a driver that loops while `hasReady` does not spin.
    private(set) var committedReadFailure: (any Error)?

    /// Checks what storage holds before Raft relies on it: bounds that form a log within
    /// `RaftLimits.indexMax`, and readable terms at both ends (the last one is what votes
    /// compare). Throws `RaftStateError`, or storage's own error.
    init(storage: any LogStorage, applyBytesMax: Int) throws {
        self.storage = storage
        self.applyBytesMax = applyBytesMax
        let first = try storage.firstIndex()
        let last = try storage.lastIndex()
        guard first >= 1, last >= first - 1, last <= RaftLimits.indexMax else {
            throw RaftStateError.logBounds(first: first, last: last)
        }
        _ = try storage.term(first - 1)
        _ = try storage.term(last)
        unstable = UnstableLog(offset: last + 1)
        committed = first - 1
        applying = first - 1
        applied = first - 1
    }

    var firstIndex: UInt64 {
        if let index = unstable.maybeFirstIndex() { return index }
        return Self.mustAnswer(storage.firstIndex, "firstIndex")
    }

    var lastIndex: UInt64 {
        if let index = unstable.maybeLastIndex() { return index }
        return Self.mustAnswer(storage.lastIndex, "lastIndex")
    }

    /// `LogStorage`'s contract: `firstIndex()` and `lastIndex()` may throw only before the
    /// node starts (`init` reads both). Both storages answer from memory (`MemoryStorage`,
    /// the node's `RaftLogStore`), so a throw here is a storage bug, not bad data.
    private static func mustAnswer(_ read: () throws -> UInt64, _ name: String) -> UInt64 {
        do {
            return try read()
        } catch {
            preconditionFailure("LogStorage.\(name)() threw after start, which its contract forbids: \(error)")
        }
    }

    /// The term at `index`, for `firstIndex - 1 ... lastIndex`.
    func term(_ index: UInt64) throws -> UInt64 {
        // The valid range is [dummy index, last index].
        let dummy = firstIndex - 1
        guard index >= dummy else { throw LogStorageError.compacted }
        guard index <= lastIndex else { throw LogStorageError.unavailable }
        if let term = unstable.maybeTerm(index) { return term }
        return try storage.term(index)
    }

    /// The term of the last entry; nil only when storage, which answered at start, cannot
    /// read it now (a disk error). Callers then refuse votes and do not campaign.
    var lastTerm: UInt64? { try? term(lastIndex) }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool {
        (try? self.term(index)) == term
    }

    /// True when a log ending at (`index`, `term`) is at least as up to date as ours
    /// (Raft §5.4.1). False when our last term cannot be read: refusing a vote is safe.
    func isUpToDate(lastIndex index: UInt64, term: UInt64) -> Bool {
        guard let lastTerm else { return false }
        return term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// Follower side of `append`: if our entry at `index` has `logTerm`, appends `entries`
    /// (dropping what conflicts) and advances the commit. Returns the last new index, or
    /// nil when the previous entry does not match.
    ///
    /// `entries` run `index + 1, index + 2, …` (`Message.validate()`), and `handleAppend`
    /// answers `index < committed` without coming here; so `lastNew` cannot overflow, a
    /// conflict lies in `index + 1 ... lastNew`, past `committed`, and after the append
    /// `lastNew ≤ lastIndex`, which bounds the commit.
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, commit leaderCommit: UInt64, entries: [Entry]) -> UInt64? {
        guard matchTerm(index, logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = findConflict(entries)
        if conflict != 0 {
            precondition(conflict > committed, "entry \(conflict) conflicts with committed entry (committed \(committed))")
            append(Array(entries[Int(conflict - index - 1)...]))
        }
        self.commit(to: min(leaderCommit, lastNew))
        return lastNew
    }

    /// Appends `entries` after truncating from their first index; returns the last index.
    /// Callers: a leader appends after its last index; `maybeAppend` from a conflict
    /// past `committed`.
    @discardableResult
    mutating func append(_ entries: [Entry]) -> UInt64 {
        guard let first = entries.first else { return lastIndex }
        precondition(first.index > committed, "append at \(first.index) would overwrite committed \(committed)")
        unstable.truncateAndAppend(entries)
        return lastIndex
    }

    /// The index of the first entry of `entries` that is new or conflicts with ours, or 0.
    func findConflict(_ entries: [Entry]) -> UInt64 {
        for entry in entries where !matchTerm(entry.index, entry.term) {
            return entry.index
        }
        return 0
    }

    /// For a rejected append at (`index`, `term`): the largest index ≤ `index` whose term
    /// is ≤ `term`, with that term; lets the leader skip a whole term of mismatches.
    func findConflictByTerm(index: UInt64, term: UInt64) -> (index: UInt64, term: UInt64) {
        var candidate = index
        while candidate > 0 {
            guard let ourTerm = try? self.term(candidate) else { return (candidate, 0) }
            if ourTerm <= term { return (candidate, ourTerm) }
            candidate -= 1
        }
        return (0, 0)
    }

    /// Entries in `lo..<hi` limited to `bytesMax` (at least one when the range is not empty).
    /// Throws `RaftStateError.entryOutOfPlace` when storage answers with other entries than
    /// those asked for, so a corrupt record never reaches the apply-order preconditions.
    func slice(_ lo: UInt64, _ hi: UInt64, bytesMax: Int) throws -> [Entry] {
        // Callers pass lo ≤ hi ≤ lastIndex + 1 from the log's own bounds.
        precondition(lo <= hi, "bad slice \(lo)..<\(hi)")
        guard lo >= firstIndex else { throw LogStorageError.compacted }
        precondition(hi <= lastIndex + 1, "slice \(lo)..<\(hi) beyond last index \(lastIndex)")
        if lo == hi { return [] }
        var result: [Entry] = []
        if lo < unstable.offset {
            let stored = try storage.entries(in: lo..<min(hi, unstable.offset), bytesMax: bytesMax)
            guard !stored.isEmpty else { throw LogStorageError.unavailable }  // the contract promises one
            for (position, entry) in stored.enumerated() where entry.index != lo + UInt64(position) {
                throw RaftStateError.entryOutOfPlace(expected: lo + UInt64(position), found: entry.index)
            }
            if UInt64(stored.count) < min(hi, unstable.offset) - lo { return stored }  // size limit hit
            result = Array(stored.prefix(Int(min(hi, unstable.offset) - lo)))
        }
        if hi > unstable.offset {
            result += unstable.slice(max(lo, unstable.offset), hi)
        }
        return limitSize(result, bytesMax: bytesMax)
    }

    /// Entries from `index` to the end, limited to `bytesMax`.
    func entries(from index: UInt64, bytesMax: Int) throws -> [Entry] {
        if index > lastIndex { return [] }
        return try slice(index, lastIndex + 1, bytesMax: bytesMax)
    }

    var unstableEntries: [Entry] { unstable.entries }

    /// The snapshot a lagging follower needs: the unstable one if any, else storage's.
    func snapshot() throws -> Snapshot {
        if let snapshot = unstable.snapshot { return snapshot }
        return try storage.snapshot()
    }

    /// Committed entries not yet handed to the application; none while a snapshot waits
    /// to be installed, or after a failed read until `retryCommittedReads()`.
    mutating func nextCommittedEntries() -> [Entry] {
        guard unstable.snapshot == nil, committed > applying, committedReadFailure == nil else { return [] }
        let lo = max(applying + 1, firstIndex)
        do {
            return try slice(lo, committed + 1, bytesMax: applyBytesMax)
        } catch {
            committedReadFailure = error
            return []
        }
    }

    var hasNextCommittedEntries: Bool {
        committedReadFailure == nil && unstable.snapshot == nil && committed > max(applying, firstIndex - 1)
    }

    /// Lets the next `Ready` try reading committed entries again (called every tick).
    mutating func retryCommittedReads() { committedReadFailure = nil }

    /// Commits through `index` if the entry there is from `term` (a leader only counts
    /// replicas of its own term, Raft §5.4.2). Returns whether the commit advanced.
    mutating func maybeCommit(_ index: UInt64, term: UInt64) -> Bool {
        guard index > committed, matchTerm(index, term) else { return false }
        commit(to: index)
        return true
    }

    /// Advances the commit; never moves it back, never past the last index. Callers bound
    /// `index` by the log: a quorum's match (acknowledgements past the last index are
    /// ignored) that `matchTerm` found, `min(leaderCommit, lastNew)`, a heartbeat's commit
    /// only when ≤ `lastIndex`, a snapshot index we hold.
    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) is beyond the last index \(lastIndex): log corrupted or truncated")
        committed = index
    }

    /// `index` is the last of `nextCommittedEntries()`, which `slice` checked lie in
    /// `applying + 1 ... committed`.
    mutating func acceptApplying(_ index: UInt64) {
        precondition(index <= committed && index >= applying, "applying \(index) outside \(applying)...\(committed)")
        applying = index
    }

    /// `index` comes from a `Ready` this log produced (its last committed entry, or its
    /// snapshot); a different one is a caller bug.
    mutating func appliedTo(_ index: UInt64) {
        guard index != 0 else { return }
        precondition(index <= committed && index >= applied, "applied \(index) outside \(applied)...\(committed)")
        applied = index
        applying = max(applying, index)
    }

    mutating func stableTo(index: UInt64, term: UInt64) { unstable.stableTo(index: index, term: term) }

    mutating func stableSnapshotTo(_ index: UInt64) { unstable.stableSnapshotTo(index) }

    /// Replaces the log with `snapshot` (the follower installs it; `Raft.restore` checked
    /// that it is newer than the commit).
    mutating func restore(_ snapshot: Snapshot) {
        precondition(snapshot.metadata.index > committed, "restoring an older snapshot")
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }

    /// After a restart, the application says how far it had applied.
    mutating func restoreApplied(_ index: UInt64) throws(RaftStateError) {
        guard index <= committed else { throw .appliedBeyondCommit(applied: index, commit: committed) }
        if index > applied {
            applied = index
            applying = index
        }
    }

    /// Restores the commit index persisted in the hard state at start. A snapshot newer
    /// than that commit already implies its own commit, which stays.
    mutating func restoreCommit(_ index: UInt64) throws(RaftStateError) {
        guard index <= lastIndex else { throw .commitBeyondLastIndex(commit: index, lastIndex: lastIndex) }
        committed = max(committed, index)
    }
}
