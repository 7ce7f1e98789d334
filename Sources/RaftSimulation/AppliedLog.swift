import Consensus

/// The simulated state machine: the sequence of normal entries applied, by index. Its
/// snapshot encoding lets a node restored from a snapshot keep checking the sequence.
public struct AppliedLog: Equatable, Sendable {
    /// Applied entries with data, by log index (empty no-op entries are skipped).
    public private(set) var entries: [UInt64: [UInt8]] = [:]
    /// The highest index applied.
    public private(set) var index: UInt64 = 0

    public init() {}

    mutating func apply(_ entry: Entry) {
        precondition(entry.index > index, "applied \(entry.index) after \(index): out of order")
        index = entry.index
        if entry.kind == .normal && !entry.data.isEmpty { entries[entry.index] = entry.data }
    }

    /// The state as of `through`, encoded: count, then (index, length, bytes) per entry.
    public func encodeForSnapshot(through: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        let kept = entries.filter { $0.key <= through }.sorted { $0.key < $1.key }
        append(UInt64(kept.count), to: &bytes)
        append(through, to: &bytes)
        for (index, data) in kept {
            append(index, to: &bytes)
            append(UInt64(data.count), to: &bytes)
            bytes += data
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> AppliedLog {
        var log = AppliedLog()
        guard bytes.count >= 16 else { return log }
        var offset = 0
        func read() -> UInt64 {
            defer { offset += 8 }
            return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        let count = read()
        log.index = read()
        for _ in 0..<count {
            let index = read()
            let length = Int(read())
            log.entries[index] = Array(bytes[offset..<offset + length])
            offset += length
        }
        return log
    }

    private func append(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
