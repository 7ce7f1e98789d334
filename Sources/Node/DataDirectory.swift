import Crypto
import Foundation
import Storage

/// Facts a node keeps in its own database so that a data directory cannot be used by the
/// wrong node or cluster, and so a single node keeps the cluster secret it generated.
struct DataDirectory {
    let database: Database

    enum Failure: Error, CustomStringConvertible {
        case belongsToAnotherNode(path: String, stored: String, configured: UInt64)
        case belongsToAnotherCluster(path: String, stored: String, configured: String)

        var description: String {
            switch self {
            case let .belongsToAnotherNode(path, stored, configured):
                "the data directory \(path) belongs to node \(stored), but this node is configured as node \(configured); "
                    + "set node.id to \(stored) or use another data.dir"
            case let .belongsToAnotherCluster(path, stored, configured):
                "the data directory \(path) belongs to cluster '\(stored)', but cluster.id is '\(configured)'; "
                    + "set cluster.id to '\(stored)' or use another data.dir"
            }
        }
    }

    private static let nodeIDKey = Array("node_id".utf8)
    private static let clusterIDKey = Array("cluster_id".utf8)
    private static let secretKey = Array("cluster_secret".utf8)

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
