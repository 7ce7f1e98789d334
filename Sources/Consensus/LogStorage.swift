/// Why a `LogStorage` could not answer.
public enum LogStorageError: Error, Equatable, Sendable {
    /// The index is at or before the first index kept: it was compacted into a snapshot.
    case compacted
    /// The index is after the last index stored.
    case unavailable
    /// The snapshot offered is older than the one held.
    case snapshotOutOfDate
    /// No snapshot can be produced right now; the leader retries later.
    case snapshotTemporarilyUnavailable
}

/// The durable log as Raft reads it. The application writes to it (after a `Ready`) and
/// Raft only reads, through this contract:
///
/// - Indexes are kept in `firstIndex() ... lastIndex()`; the entry before `firstIndex()`
///   is represented by the snapshot, whose term `term(firstIndex() - 1)` must still answer.
/// - `entries(in:)` takes a half-open range `lo..<hi` with `firstIndex() <= lo` and
///   `hi <= lastIndex() + 1`; it returns entries in order, at least one entry when the range
///   is not empty even if that entry alone exceeds `bytesMax`, and otherwise no more than
///   `bytesMax` bytes. The returned array is the caller's; storage must not mutate it.
/// - An index before the first kept is `.compacted`; after the last is `.unavailable`.
/// - `firstIndex()` and `lastIndex()` may throw only before the node starts: `RawNode.init`
///   reads them (and the terms at both ends) once, and afterwards Raft cannot proceed
///   without them. Other reads may fail at any time; Raft degrades (no votes, no
///   campaign, no entries handed out until the next tick) rather than trap.
/// - What storage returns is checked, not trusted: bounds within `RaftLimits.indexMax`,
///   entries at the indexes asked for (`RaftStateError`).
/// - Implementations are reference types: Raft sees the application's writes.
public protocol LogStorage: AnyObject {
    /// The persisted hard state and membership, read once at start.
    func initialState() throws -> (HardState, ConfigurationState)
    /// Entries in `range`, limited to about `bytesMax` bytes (see the contract above).
    func entries(in range: Range<UInt64>, bytesMax: Int) throws -> [Entry]
    /// The term of the entry at `index`, for `firstIndex() - 1 ... lastIndex()`.
    func term(_ index: UInt64) throws -> UInt64
    /// The first index available in the log (the snapshot's index + 1).
    func firstIndex() throws -> UInt64
    /// The last index in the log.
    func lastIndex() throws -> UInt64
    /// The most recent snapshot.
    func snapshot() throws -> Snapshot
}

/// A `LogStorage` in memory, for tests and the simulator. Not thread-safe: one owner.
///
/// `entries[0]` is a dummy standing for the snapshot: its index and term are the
/// snapshot's, so `term(firstIndex() - 1)` always answers.
public final class MemoryStorage: LogStorage {
    public private(set) var hardState = HardState()
    public private(set) var currentSnapshot = Snapshot()
    private var log: [Entry] = [Entry(term: 0, index: 0)]

    /// An empty log.
    public init() {}

    /// An empty log whose first snapshot holds `configuration` (how a new group boots).
    public convenience init(bootstrap configuration: ConfigurationState) {
        self.init()
        currentSnapshot = Snapshot(metadata: SnapshotMetadata(index: 0, term: 0, configuration: configuration))
    }

    public func initialState() throws -> (HardState, ConfigurationState) {
        (hardState, currentSnapshot.metadata.configuration)
    }

    private var offset: UInt64 { log[0].index }

    public func firstIndex() throws -> UInt64 { offset + 1 }

    public func lastIndex() throws -> UInt64 { last }

    private var last: UInt64 { offset + UInt64(log.count) - 1 }

    public func term(_ index: UInt64) throws -> UInt64 {
        guard index >= offset else { throw LogStorageError.compacted }
        guard index - offset < UInt64(log.count) else { throw LogStorageError.unavailable }
        return log[Int(index - offset)].term
    }

    public func entries(in range: Range<UInt64>, bytesMax: Int) throws -> [Entry] {
        guard range.lowerBound > offset else { throw LogStorageError.compacted }
        guard range.upperBound <= last + 1 else { throw LogStorageError.unavailable }
        if range.isEmpty { return [] }
        let slice = log[Int(range.lowerBound - offset)..<Int(range.upperBound - offset)]
        return limitSize(Array(slice), bytesMax: bytesMax)
    }

    public func snapshot() throws -> Snapshot { currentSnapshot }

    /// Records the hard state (as the application does after a `Ready`).
    public func setHardState(_ state: HardState) { hardState = state }

    /// Replaces the log with `snapshot`. Refuses an older snapshot.
    public func applySnapshot(_ snapshot: Snapshot) throws {
        guard snapshot.metadata.index > currentSnapshot.metadata.index else { throw LogStorageError.snapshotOutOfDate }
        currentSnapshot = snapshot
        log = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
    }

    /// Makes a snapshot at `index` (≤ last index, > the current snapshot's) holding `data`.
    @discardableResult
    public func createSnapshot(at index: UInt64, configuration: ConfigurationState, data: [UInt8]) throws -> Snapshot {
        guard index > currentSnapshot.metadata.index else { throw LogStorageError.snapshotOutOfDate }
        precondition(index <= last, "snapshot index \(index) is beyond the last index")
        currentSnapshot = Snapshot(
            metadata: SnapshotMetadata(index: index, term: try term(index), configuration: configuration), data: data)
        return currentSnapshot
    }

    /// Discards entries before `index` (which stays as the dummy). `index` must not pass the
    /// last index; compacting at or before the current offset is `.compacted`.
    public func compact(through index: UInt64) throws {
        guard index > offset else { throw LogStorageError.compacted }
        precondition(index <= last, "compact(\(index)) is beyond the last index")
        let position = Int(index - offset)
        let dummy = Entry(term: log[position].term, index: index)
        log = [dummy] + log[(position + 1)...]
    }

    /// Appends `entries`, replacing any stored entries from the first new index on. The new
    /// entries must be contiguous and must not leave a gap after the last index.
    public func append(_ entries: [Entry]) throws {
        guard let first = entries.first else { return }
        precondition(first.index <= last + 1, "append would leave a gap: \(first.index) after \(last)")
        for (a, b) in zip(entries, entries.dropFirst()) {
            precondition(b.index == a.index + 1, "appended entries are not contiguous")
        }
        // Entries already folded into the snapshot are skipped.
        let fresh = entries.filter { $0.index > offset }
        guard let firstFresh = fresh.first else { return }
        log.removeSubrange(Int(firstFresh.index - offset)...)
        log.append(contentsOf: fresh)
    }
}

/// The longest prefix of `entries` within `bytesMax`, but never empty when `entries` is not.
func limitSize(_ entries: [Entry], bytesMax: Int) -> [Entry] {
    guard !entries.isEmpty else { return entries }
    var total = entries[0].sizeBytes
    var count = 1
    while count < entries.count {
        total += entries[count].sizeBytes
        if total > bytesMax { break }
        count += 1
    }
    return Array(entries.prefix(count))
}
