/// A set of writes applied atomically by `Database.write(_:sync:)`, across column families.
///
/// The batch is plain Swift data (no C handle), so it is `Sendable` and may be built on one
/// task and written on another. Operations apply in the order they were added.
public struct WriteBatch: Sendable {
    /// One write inside a batch.
    public enum Operation: Sendable, Equatable {
        case put(ColumnFamily, key: [UInt8], value: [UInt8])
        case delete(ColumnFamily, key: [UInt8])
        /// Deletes every key in `[start, end)`.
        case deleteRange(ColumnFamily, start: [UInt8], end: [UInt8])
    }

    /// The operations, in the order they will apply.
    public private(set) var operations: [Operation] = []

    /// An empty batch.
    public init() {}

    /// Sets `key` to `value` in `family`.
    public mutating func put(_ family: ColumnFamily, key: [UInt8], value: [UInt8]) {
        operations.append(.put(family, key: key, value: value))
    }

    /// Removes `key` from `family` (no error if it is absent).
    public mutating func delete(_ family: ColumnFamily, key: [UInt8]) {
        operations.append(.delete(family, key: key))
    }

    /// Removes every key `k` with `start <= k < end` from `family`.
    public mutating func deleteRange(_ family: ColumnFamily, start: [UInt8], end: [UInt8]) {
        precondition(start.lexicographicallyPrecedes(end) || start == end, "deleteRange needs start <= end")
        operations.append(.deleteRange(family, start: start, end: end))
    }

    /// True when the batch holds no operation.
    public var isEmpty: Bool { operations.isEmpty }

    /// The number of operations.
    public var count: Int { operations.count }
}
