import BinaryCoding
import Consensus
import Storage

/// Raft's durable state in the node's RocksDB (DESIGN.md section 5):
///
/// - `raft_log`: big-endian index → encoded entry;
/// - `raft_state`: `hard_state`, `snapshot_meta` (index, term, membership) and `log_base`
///   (the index and term just before the first kept entry);
/// - `policy_snapshot`: `data`, the latest snapshot's bytes.
///
/// `persist(_:)` writes a `Ready`'s snapshot, entries and hard state in one batch, synced
/// when the `Ready` says so, before any of its messages are sent. Owned by one driver; not
/// thread-safe.
final class RaftLogStore: LogStorage {
    private let database: Database
    private(set) var hardState = HardState()
    private(set) var snapshotMetadata = SnapshotMetadata()
    /// The entry just before the first kept one (the compaction point).
    private var base: (index: UInt64, term: UInt64) = (0, 0)
    private var last: UInt64 = 0
    /// Terms of recent entries, so Raft's frequent `term(_:)` calls rarely reach RocksDB.
    private var recentTerms: [UInt64: UInt64] = [:]
    /// Entries whose terms are cached, at most.
    static let recentTermsMax = 8192

    private static let log = StorageLayout.raftLog
    private static let state = StorageLayout.raftState
    private static let hardStateKey = Array("hard_state".utf8)
    private static let snapshotMetaKey = Array("snapshot_meta".utf8)
    private static let logBaseKey = Array("log_base".utf8)
    private static let snapshotDataKey = Array("data".utf8)

    enum Failure: Error, CustomStringConvertible {
        case corrupt(String)
        var description: String {
            switch self {
            case let .corrupt(what): "the Raft state in the data directory is corrupt (\(what)); restore the node from a backup or remove and re-join it"
            }
        }
    }

    /// Loads the state kept in `database`.
    init(database: Database) throws {
        self.database = database
        if let bytes = try database.get(Self.state, Self.hardStateKey) {
            guard let decoded = MessageCodec.decodeHardState(bytes) else { throw Failure.corrupt("hard state") }
            hardState = decoded
        }
        if let bytes = try database.get(Self.state, Self.snapshotMetaKey) {
            guard let decoded = MessageCodec.decodeSnapshotMetadata(bytes) else { throw Failure.corrupt("snapshot metadata") }
            snapshotMetadata = decoded
        }
        if let bytes = try database.get(Self.state, Self.logBaseKey) {
            var reader = ByteReader(bytes)
            guard let index = reader.readUInt64(), let term = reader.readUInt64() else { throw Failure.corrupt("log base") }
            base = (index, term)
        } else {
            base = (snapshotMetadata.index, snapshotMetadata.term)
        }
        let newest = try database.scan(Self.log, reverse: true, limit: 1)
        if let key = newest.first?.key {
            var reader = ByteReader(key)
            guard let index = reader.readUInt64() else { throw Failure.corrupt("log key") }
            last = index
        } else {
            last = base.index
        }
        guard last >= base.index else { throw Failure.corrupt("log ends before its base") }
    }

    /// True when this node has never been part of a group (no membership, no log).
    var isEmpty: Bool { hardState.isEmpty && snapshotMetadata.configuration.members.isEmpty && last == 0 }

    /// Records the first membership of a node: the voters of a new group, or the group a
    /// joining node was told about. `data` is the application's initial snapshot data.
    func bootstrap(_ configuration: ConfigurationState, data: [UInt8]) throws {
        precondition(isEmpty, "bootstrap of a node that already has Raft state")
        let metadata = SnapshotMetadata(index: 0, term: 0, configuration: configuration)
        var batch = WriteBatch()
        batch.put(Self.state, key: Self.snapshotMetaKey, value: MessageCodec.encode(metadata))
        batch.put(StorageLayout.policySnapshot, key: Self.snapshotDataKey, value: data)
        try database.write(batch, sync: true)
        snapshotMetadata = metadata
    }

    // MARK: LogStorage

    func initialState() throws -> (HardState, ConfigurationState) { (hardState, snapshotMetadata.configuration) }

    func firstIndex() throws -> UInt64 { base.index + 1 }

    func lastIndex() throws -> UInt64 { last }

    func term(_ index: UInt64) throws -> UInt64 {
        if index == base.index { return base.term }
        guard index > base.index else { throw LogStorageError.compacted }
        guard index <= last else { throw LogStorageError.unavailable }
        if let term = recentTerms[index] { return term }
        guard let bytes = try database.get(Self.log, .bigEndian(index)), let entry = MessageCodec.decodeEntry(bytes) else {
            throw Failure.corrupt("entry \(index) is missing or unreadable")
        }
        return entry.term
    }

    func entries(in range: Range<UInt64>, bytesMax: Int) throws -> [Entry] {
        guard range.lowerBound > base.index else { throw LogStorageError.compacted }
        guard range.upperBound <= last + 1 else { throw LogStorageError.unavailable }
        if range.isEmpty { return [] }
        var entries: [Entry] = []
        var bytes = 0
        var failure: Failure?
        try database.forEach(Self.log, in: KeyRange(lower: .bigEndian(range.lowerBound), upper: .bigEndian(range.upperBound))) { _, value in
            guard let entry = MessageCodec.decodeEntry(value) else {
                failure = .corrupt("an entry in \(range) is unreadable")
                return false
            }
            bytes += value.count
            if !entries.isEmpty && bytes > bytesMax { return false }
            entries.append(entry)
            return true
        }
        if let failure { throw failure }
        guard let first = entries.first, first.index == range.lowerBound else {
            throw Failure.corrupt("entries from \(range.lowerBound) are missing")
        }
        return entries
    }

    func snapshot() throws -> Snapshot {
        let data = try database.get(StorageLayout.policySnapshot, Self.snapshotDataKey) ?? []
        return Snapshot(metadata: snapshotMetadata, data: data)
    }

    // MARK: Writes

    /// Persists what `ready` asks for in one atomic batch, synced when `mustSync`.
    func persist(_ ready: Ready) throws {
        var batch = WriteBatch()
        var newBase = base
        var newLast = last
        if let snapshot = ready.snapshot {
            // The snapshot replaces the whole log.
            batch.deleteRange(Self.log, start: .bigEndian(0), end: .bigEndian(UInt64.max))
            batch.put(Self.state, key: Self.snapshotMetaKey, value: MessageCodec.encode(snapshot.metadata))
            batch.put(StorageLayout.policySnapshot, key: Self.snapshotDataKey, value: snapshot.data)
            newBase = (snapshot.metadata.index, snapshot.metadata.term)
            batch.put(Self.state, key: Self.logBaseKey, value: encodeBase(newBase))
            newLast = snapshot.metadata.index
        }
        if let first = ready.entries.first {
            precondition(first.index > newBase.index && first.index <= newLast + 1,
                         "entries from \(first.index) do not follow the log (base \(newBase.index), last \(newLast))")
            if first.index <= newLast {
                // A new leader's entries replace our conflicting suffix.
                batch.deleteRange(Self.log, start: .bigEndian(first.index), end: .bigEndian(newLast + 1))
            }
            for entry in ready.entries {
                batch.put(Self.log, key: .bigEndian(entry.index), value: MessageCodec.encode(entry))
            }
            newLast = ready.entries.last!.index
        }
        if let hard = ready.hardState {
            batch.put(Self.state, key: Self.hardStateKey, value: MessageCodec.encode(hard))
        }
        try database.write(batch, sync: ready.mustSync)
        if let snapshot = ready.snapshot {
            snapshotMetadata = snapshot.metadata
            recentTerms = [:]
        }
        if let first = ready.entries.first {
            for index in first.index...max(first.index, last) { recentTerms[index] = nil }
            for entry in ready.entries { recentTerms[entry.index] = entry.term }
        }
        base = newBase
        last = newLast
        if let hard = ready.hardState { hardState = hard }
        trimTermCache()
    }

    /// Records a snapshot of the applied state at `index` (which must be applied, so ≤ last).
    func saveSnapshot(at index: UInt64, configuration: ConfigurationState, data: [UInt8]) throws {
        precondition(index > snapshotMetadata.index && index <= last, "snapshot at \(index) outside the log")
        let metadata = SnapshotMetadata(index: index, term: try term(index), configuration: configuration)
        var batch = WriteBatch()
        batch.put(Self.state, key: Self.snapshotMetaKey, value: MessageCodec.encode(metadata))
        batch.put(StorageLayout.policySnapshot, key: Self.snapshotDataKey, value: data)
        try database.write(batch, sync: true)
        snapshotMetadata = metadata
    }

    /// Drops the entries up to and including `index` (at most the snapshot's index).
    func compact(through index: UInt64) throws {
        guard index > base.index else { return }
        precondition(index <= snapshotMetadata.index, "compacting past the snapshot would lose entries")
        let newBase = (index: index, term: try term(index))
        var batch = WriteBatch()
        batch.deleteRange(Self.log, start: .bigEndian(base.index + 1), end: .bigEndian(index + 1))
        batch.put(Self.state, key: Self.logBaseKey, value: encodeBase(newBase))
        // Unsynced: losing a compaction in a crash only leaves more log behind.
        try database.write(batch, sync: false)
        base = newBase
        recentTerms = recentTerms.filter { $0.key > index }
    }

    private func encodeBase(_ base: (index: UInt64, term: UInt64)) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(base.index)
        bytes.appendBigEndian(base.term)
        return bytes
    }

    private func trimTermCache() {
        guard recentTerms.count > Self.recentTermsMax, last > UInt64(Self.recentTermsMax / 2) else { return }
        let keepFrom = last - UInt64(Self.recentTermsMax / 2)
        recentTerms = recentTerms.filter { $0.key >= keepFrom }
    }
}
