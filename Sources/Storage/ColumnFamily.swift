/// The name of a RocksDB column family. Column families are independent key spaces that
/// share one write-ahead log, so a `WriteBatch` across them is atomic.
public struct ColumnFamily: Hashable, Sendable, CustomStringConvertible {
    /// The column family's name as stored by RocksDB.
    public let name: String

    /// Names a column family. The name must be non-empty.
    public init(_ name: String) {
        precondition(!name.isEmpty, "a column family needs a name")
        self.name = name
    }

    /// RocksDB's implicit column family, always present.
    public static let `default` = ColumnFamily("default")

    public var description: String { name }
}
