/// A half-open range of binary keys, `[lower, upper)`, compared bytewise (RocksDB's default
/// comparator). A nil bound is open on that side.
public struct KeyRange: Sendable, Equatable {
    /// The first key included, or nil for the start of the column family.
    public var lower: [UInt8]?
    /// The first key excluded, or nil for the end of the column family.
    public var upper: [UInt8]?

    /// A range from `lower` (included) to `upper` (excluded).
    public init(lower: [UInt8]? = nil, upper: [UInt8]? = nil) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key in the column family.
    public static let all = KeyRange()

    /// Every key that starts with `prefix`. An empty prefix, or one made only of 0xFF bytes,
    /// has no finite successor and so leaves the upper end open.
    public static func prefix(_ prefix: [UInt8]) -> KeyRange {
        KeyRange(lower: prefix.isEmpty ? nil : prefix, upper: successor(ofPrefix: prefix))
    }

    /// The smallest key greater than every key that starts with `prefix`, or nil if none.
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }

    /// True when `key` lies inside the range.
    public func contains(_ key: [UInt8]) -> Bool {
        if let lower, key.lexicographicallyPrecedes(lower) { return false }
        if let upper, !key.lexicographicallyPrecedes(upper) { return false }
        return true
    }
}
