import BinaryCoding
import Synchronization

/// Entry levels: what a build can apply, and what the cluster lets the leader propose.
///
/// Every entry kind and snapshot format belongs to the level of the build that introduced
/// it. Each member records the level of its build through the log (tag 7, by
/// `IncarnationGuard` once it has caught up); the *cluster level* is the lowest level among
/// the current members, a member with no record counting as `levelWithoutRecord` (the build
/// before levels existed). The leader refuses to propose an entry above the cluster level,
/// and snapshots are written in the format of the cluster level, so during a rolling
/// upgrade every member applies every entry and installs every snapshot: no replica skips
/// what the others apply. A join from a build below the cluster level is refused.
extension NodeStateMachine {
    /// The level of this build: it applies every entry kind and snapshot format up to it.
    static let entryLevel: UInt16 = 4
    /// The level taken for a member that recorded none: builds before levels existed
    /// applied kinds 1 to 6 (level 3). Upgrade to this build from that one, not older.
    static let levelWithoutRecord: UInt16 = 3

    /// The level a kind of entry needs every member to have before the leader proposes it.
    /// A level record (tag 7) needs only level 3: it is how levels become known, and a
    /// level-3 build rejects it harmlessly (it does not use levels).
    static func level(of tag: Tag) -> UInt16 {
        switch tag {
        case .canary, .quotaMembership, .quotaReassignment, .policy: 1
        case .memberIncarnation: 2
        case .quotaAllocation, .memberLevel: 3
        }
    }

    /// A member level entry's bytes: tag, node id, level.
    static func memberLevelEntry(node: UInt64, level: UInt16) -> [UInt8] {
        var bytes: [UInt8] = [Tag.memberLevel.rawValue]
        bytes.appendBigEndian(node)
        bytes.appendBigEndian(level)
        return bytes
    }

    static func decodeLevel(in data: [UInt8]) -> (node: UInt64, level: UInt16)? {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let node = reader.readUInt64(), node != 0, let level = reader.readUInt16(), level > 0, reader.isAtEnd else { return nil }
        return (node, level)
    }

    /// The level `node` recorded, as of the entries applied here.
    func level(of node: UInt64) -> UInt16? { levels.withLock { $0[node] } }

    /// Every recorded level, by node id.
    var recordedLevels: [UInt64: UInt16] { levels.withLock { $0 } }

    /// The lowest level among the current members (as of the entries applied here).
    var clusterLevel: UInt16 {
        let members = members.withLock { $0 }
        let recorded = levels.withLock { $0 }
        return members.map { recorded[$0] ?? Self.levelWithoutRecord }.min() ?? Self.entryLevel
    }

    /// Called by the Raft driver with the members in force whenever they change (at start,
    /// at each applied membership change, at a snapshot installed).
    func membersApplied(_ members: [UInt64]) {
        self.members.withLock { $0 = members.sorted() }
    }

    /// The recorded levels in a snapshot (format 7): a count, then (node, level) by node id.
    static func encodeLevels(_ map: [UInt64: UInt16]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(map.count))
        for (node, level) in map.sorted(by: { $0.key < $1.key }) {
            bytes.appendBigEndian(node)
            bytes.appendBigEndian(level)
        }
        return bytes
    }

    static func decodeLevels(_ reader: inout ByteReader) -> [UInt64: UInt16]? {
        guard let count = reader.readUInt32(), Int(count) <= reader.remaining / 10 else { return nil }
        var map: [UInt64: UInt16] = [:]
        for _ in 0..<count {
            guard let node = reader.readUInt64(), node != 0, let level = reader.readUInt16(), level > 0,
                  map.updateValue(level, forKey: node) == nil else { return nil }
        }
        return map
    }
}
