/// What can go wrong in the storage layer. Every case carries RocksDB's own message where
/// there is one, and says what the operator can do about it.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data directory is locked by another process (another weir node, or a tool that
    /// opened the database). Only one process may open a RocksDB directory at a time.
    case locked(path: String, message: String)
    /// A RocksDB operation failed; `operation` names what Weir was doing.
    case rocksdb(operation: String, message: String)
    /// A column family was used that the database was not opened with.
    case unknownColumnFamily(String)
    /// The database was used after `close()`.
    case closed
    /// A checkpoint target already exists; RocksDB refuses to overwrite one.
    case checkpointTargetExists(path: String)

    public var description: String {
        switch self {
        case let .locked(path, message):
            return "the data directory \(path) is in use by another process (\(message)); "
                + "stop the other weir node or choose another data directory"
        case let .rocksdb(operation, message):
            return "RocksDB \(operation) failed: \(message)"
        case let .unknownColumnFamily(name):
            return "unknown column family '\(name)': open the database with it first"
        case .closed:
            return "the database is closed"
        case let .checkpointTargetExists(path):
            return "cannot create a checkpoint at \(path): the path already exists; choose a new directory"
        }
    }
}
