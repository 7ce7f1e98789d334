import Foundation
import Storage

/// Makes a new node's data directory from a backup (`clusterctl backup`, a RocksDB
/// checkpoint of another node): the usage history is kept; the Raft log and state, the
/// policy snapshot, the quota slots and the node's identity (id and incarnation) are dropped, so the new node
/// joins as itself (`cluster.join`) and receives the cluster's current state from the
/// leader.
public enum BackupRestore {
    public enum Failure: Error, CustomStringConvertible {
        case notABackup(String)
        case occupied(String)

        public var description: String {
            switch self {
            case let .notABackup(path): "\(path) is not a backup: clusterctl backup writes a directory holding a RocksDB checkpoint (CURRENT, MANIFEST-…)"
            case let .occupied(path): "\(path) already holds a node's database; restore into a new, empty data directory"
            }
        }
    }

    /// What a restore kept, for the operator.
    public struct Outcome: Sendable {
        public var usageEvents: Int
        public var clusterID: String?
    }

    /// The families a restored node must not keep: they belong to the node backed up.
    static let dropped = [StorageLayout.raftLog, StorageLayout.raftState, StorageLayout.policySnapshot, StorageLayout.quota]

    /// Copies `backup` into `dataDirectory` and strips what belonged to the old node.
    public static func restore(from backup: String, into dataDirectory: String) throws -> Outcome {
        let files = FileManager.default
        guard files.fileExists(atPath: backup + "/CURRENT") else { throw Failure.notABackup(backup) }
        let target = StorageLayout.databasePath(dataDirectory: dataDirectory)
        guard !files.fileExists(atPath: target) else { throw Failure.occupied(target) }
        try files.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        try files.copyItem(atPath: backup, toPath: target)
        let database = try Database(path: target, columnFamilies: StorageLayout.all)
        defer { database.close() }
        var batch = WriteBatch()
        for family in dropped {
            try database.forEach(family) { key, _ in
                batch.delete(family, key: key)
                return true
            }
        }
        // The new node is another node in another life: it gets its own id and incarnation.
        batch.delete(StorageLayout.meta, key: DataDirectory.nodeIDKey)
        batch.delete(StorageLayout.meta, key: DataDirectory.incarnationKey)
        // Its quota fences were the old node's (its new life is reviewed when it joins).
        batch.delete(StorageLayout.meta, key: QuotaStore.fenceKey)
        batch.delete(StorageLayout.meta, key: QuotaStore.rebirthKey)
        try database.write(batch, sync: true)
        var events = 0
        try database.forEach(StorageLayout.usageEvents) { _, _ in
            events += 1
            return true
        }
        let cluster = try database.get(StorageLayout.meta, Array("cluster_id".utf8)).map { String(decoding: $0, as: UTF8.self) }
        return Outcome(usageEvents: events, clusterID: cluster)
    }
}
