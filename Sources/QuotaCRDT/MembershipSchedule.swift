import BinaryCoding

/// Which voters each window's cap is split over, by the window's start (DESIGN.md
/// section 4: "the voting members of the configuration in force when the window
/// starts"). Replicated through the Raft log, so every node splits every window the same
/// way however late it applied the membership change, as long as it applied it before
/// the change took effect.
public struct MembershipSchedule: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        /// Windows starting at or after this instant (ms since the epoch) use `voters`.
        public var effectiveFrom: Int64
        public var voters: [UInt64]
    }

    /// In log order; `effectiveFrom` strictly rises.
    public private(set) var entries: [Entry] = []

    public init() {}

    /// Appends a change. An entry proposed by a leader whose clock is behind the previous
    /// one's takes effect just after it instead, so the order is the log's on every node.
    public mutating func append(effectiveFrom: Int64, voters: [UInt64]) {
        let from = entries.last.map { max(effectiveFrom, $0.effectiveFrom &+ 1) } ?? effectiveFrom
        entries.append(Entry(effectiveFrom: from, voters: voters.sorted()))
    }

    /// The voters for a window starting at `start`, or nil when no entry is in force yet.
    public func voters(at start: Int64) -> [UInt64]? {
        // Changes are rare: the newest entries are the likely answer.
        for entry in entries.reversed() where entry.effectiveFrom <= start { return entry.voters }
        return nil
    }

    /// The latest voters scheduled.
    public var latestVoters: [UInt64]? { entries.last?.voters }

    public func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(entries.count))
        for entry in entries {
            bytes.appendBigEndian(entry.effectiveFrom)
            bytes.appendBigEndian(UInt16(entry.voters.count))
            for voter in entry.voters { bytes.appendBigEndian(voter) }
        }
        return bytes
    }

    /// Reads what `encode` wrote from `reader`, or nil when malformed.
    public static func decode(_ reader: inout ByteReader) -> MembershipSchedule? {
        guard let count = reader.readUInt32(), Int(count) <= reader.remaining / 10 else { return nil }
        var schedule = MembershipSchedule()
        for _ in 0..<count {
            guard let from = reader.readUInt64(), let voterCount = reader.readUInt16(),
                  Int(voterCount) * 8 <= reader.remaining else { return nil }
            var voters: [UInt64] = []
            for _ in 0..<voterCount {
                guard let voter = reader.readUInt64() else { return nil }
                voters.append(voter)
            }
            schedule.entries.append(Entry(effectiveFrom: Int64(bitPattern: from), voters: voters))
        }
        return schedule
    }
}
