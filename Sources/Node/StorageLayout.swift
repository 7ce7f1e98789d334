import Storage

/// The column families of a node's database (DESIGN.md section 5). One RocksDB instance
/// per node; a write batch across these families is atomic.
public enum StorageLayout {
    /// Raft log entries, keyed by big-endian index.
    public static let raftLog = ColumnFamily("raft_log")
    /// Hard state, configuration state and snapshot metadata.
    public static let raftState = ColumnFamily("raft_state")
    /// The latest policy snapshot.
    public static let policySnapshot = ColumnFamily("policy_snapshot")
    /// Own quota slots, grants and high-water marks.
    public static let quota = ColumnFamily("quota")
    /// Usage events, time-ordered, retention-bounded.
    public static let usageEvents = ColumnFamily("usage_events")
    /// Usage rolled up per minute.
    public static let usageRollups = ColumnFamily("usage_rollups")
    /// Node-local facts: the generated cluster secret, the node's identity.
    public static let meta = ColumnFamily("meta")

    public static let all = [raftLog, raftState, policySnapshot, quota, usageEvents, usageRollups, meta]

    /// The database directory inside the data directory.
    public static func databasePath(dataDirectory: String) -> String { dataDirectory + "/db" }
}
