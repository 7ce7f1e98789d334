import Crypto
import Foundation
import Storage

/// Facts a node keeps in its own database so that a data directory cannot be used by the
/// wrong node or cluster, so a single node keeps the cluster secret it generated, and so
/// the cluster can tell this directory from a new one under the same node id (its
/// incarnation).
struct DataDirectory {
    let database: Database

    enum Failure: Error, CustomStringConvertible {
        case belongsToAnotherNode(path: String, stored: String, configured: UInt64)
        case belongsToAnotherCluster(path: String, stored: String, configured: String)
        case unreadableIncarnation(path: String)
        case replaced(path: String, reason: String)

        var description: String {
            switch self {
            case let .belongsToAnotherNode(path, stored, configured):
                "the data directory \(path) belongs to node \(stored), but this node is configured as node \(configured); "
                    + "set node.id to \(stored) or use another data.dir"
            case let .belongsToAnotherCluster(path, stored, configured):
                "the data directory \(path) belongs to cluster '\(stored)', but cluster.id is '\(configured)'; "
                    + "set cluster.id to '\(stored)' or use another data.dir"
            case let .unreadableIncarnation(path):
                "the data directory \(path) holds an unreadable incarnation (not 16 bytes): the disk returned damaged data. "
                    + "Treat the node as lost: `clusterctl remove` it, then start it from an empty data.dir with --join"
            case let .replaced(path, reason):
                "the data directory \(path) was found replaced and this node stopped for good: \(reason)"
            }
        }
    }

    static let nodeIDKey = Array("node_id".utf8)
    private static let clusterIDKey = Array("cluster_id".utf8)
    private static let secretKey = Array("cluster_secret".utf8)
    static let incarnationKey = Array("incarnation".utf8)
    private static let replacedKey = Array("replaced".utf8)

    /// Records the node and cluster id on first start; refuses a directory of another one.
    func claim(nodeID: UInt64, clusterID: String, path: String) throws {
        let meta = StorageLayout.meta
        var batch = WriteBatch()
        if let stored = try database.get(meta, Self.nodeIDKey).map({ String(decoding: $0, as: UTF8.self) }) {
            guard stored == String(nodeID) else {
                throw Failure.belongsToAnotherNode(path: path, stored: stored, configured: nodeID)
            }
        } else {
            batch.put(meta, key: Self.nodeIDKey, value: Array(String(nodeID).utf8))
        }
        if let stored = try database.get(meta, Self.clusterIDKey).map({ String(decoding: $0, as: UTF8.self) }) {
            guard stored == clusterID else {
                throw Failure.belongsToAnotherCluster(path: path, stored: stored, configured: clusterID)
            }
        } else {
            batch.put(meta, key: Self.clusterIDKey, value: Array(clusterID.utf8))
        }
        try database.write(batch, sync: true)
    }

    /// True once the directory has an incarnation (false on its first start).
    func hasIncarnation() throws -> Bool { try database.get(StorageLayout.meta, Self.incarnationKey) != nil }

    /// This data directory's incarnation: 16 random bytes made when it is first opened and
    /// kept for its life. A node whose disk was wiped or replaced comes back with another
    /// one, and the cluster, which recorded the old one, refuses it as the member it was.
    func incarnation() throws -> Incarnation {
        if let stored = try database.get(StorageLayout.meta, Self.incarnationKey) {
            guard let known = Incarnation(bytes: stored) else { throw Failure.unreadableIncarnation(path: database.path) }
            return known
        }
        let fresh = Incarnation.random()
        try database.put(StorageLayout.meta, Self.incarnationKey, fresh.bytes, sync: true)
        return fresh
    }

    /// Marks the directory as one the cluster replaced (`IncarnationGuard`), so the node
    /// refuses to start from it again: a restart loop would vote anew each time.
    func markReplaced(_ reason: String) throws {
        try database.put(StorageLayout.meta, Self.replacedKey, Array(reason.utf8), sync: true)
    }

    /// Throws `replaced` when `markReplaced` was called on this directory.
    func refuseIfReplaced() throws {
        guard let reason = try database.get(StorageLayout.meta, Self.replacedKey) else { return }
        throw Failure.replaced(path: database.path, reason: String(decoding: reason, as: UTF8.self))
    }

    /// The configured secret, or the one this node generated earlier, or a new random one
    /// (32 bytes from the system's generator) stored before it is used.
    func clusterSecret(configured: String?) throws -> (secret: [UInt8], generated: Bool) {
        if let configured { return (Array(configured.utf8), false) }
        if let stored = try database.get(StorageLayout.meta, Self.secretKey) { return (stored, true) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        try database.put(StorageLayout.meta, Self.secretKey, fresh, sync: true)
        return (fresh, true)
    }
}
