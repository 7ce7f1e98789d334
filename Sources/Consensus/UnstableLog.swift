/// The part of the log not yet persisted: entries (and possibly a snapshot) the
/// application will write after the next `Ready`.
///
/// Invariant: `entries` are contiguous from `offset`; when `snapshot` is set, `offset`
/// is its index + 1.
struct UnstableLog {
    var snapshot: Snapshot?
    var entries: [Entry] = []
    /// The index of `entries[0]` (or of the next entry, when `entries` is empty).
    var offset: UInt64

    /// The first index, if the unstable part holds a snapshot.
    func maybeFirstIndex() -> UInt64? {
        snapshot.map { $0.metadata.index + 1 }
    }

    /// The last index, if the unstable part holds entries or a snapshot.
    func maybeLastIndex() -> UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The term of `index`, if the unstable part knows it.
    func maybeTerm(_ index: UInt64) -> UInt64? {
        if index < offset {
            guard let snapshot, snapshot.metadata.index == index else { return nil }
            return snapshot.metadata.term
        }
        guard let last = maybeLastIndex(), index <= last else { return nil }
        if let snapshot, index == snapshot.metadata.index, entries.isEmpty { return snapshot.metadata.term }
        return entries[Int(index - offset)].term
    }

    /// Entries up to (`index`, `term`) were persisted: drop them. A term mismatch means the
    /// entry was replaced meanwhile, so nothing is dropped.
    mutating func stableTo(index: UInt64, term: UInt64) {
        guard let known = maybeTerm(index), known == term, index >= offset else { return }
        entries.removeFirst(Int(index + 1 - offset))
        offset = index + 1
    }

    /// The snapshot at `index` was persisted.
    mutating func stableSnapshotTo(_ index: UInt64) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    /// Replaces everything with `snapshot` (whose index is ≤ `RaftLimits.indexMax`:
    /// messages and stored metadata are checked, so `+ 1` has room).
    mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        entries = []
        self.snapshot = snapshot
    }

    /// Appends `newEntries`, truncating any entries from their first index on. They are
    /// contiguous and start at most one past the last index (`RaftLog.append`'s callers:
    /// a leader stamps its own; a follower's come after a matching `index`), so the cut
    /// below lies within `entries`.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let first = newEntries.first else { return }
        let after = first.index
        if after == offset + UInt64(entries.count) {
            entries.append(contentsOf: newEntries)
        } else if after <= offset {
            // Replaces the whole unstable part (and conflicts with stable entries at or after `after`).
            offset = after
            entries = newEntries
        } else {
            entries = Array(entries[..<Int(after - offset)]) + newEntries
        }
    }

    /// Entries in `lo..<hi`, which must lie within the unstable entries.
    func slice(_ lo: UInt64, _ hi: UInt64) -> [Entry] {
        precondition(lo >= offset && hi <= offset + UInt64(entries.count) && lo <= hi,
                     "unstable slice \(lo)..<\(hi) out of \(offset)..<\(offset + UInt64(entries.count))")
        return Array(entries[Int(lo - offset)..<Int(hi - offset)])
    }
}
