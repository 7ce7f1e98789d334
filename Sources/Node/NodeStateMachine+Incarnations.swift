import BinaryCoding
import Synchronization

extension NodeStateMachine {
    /// A member incarnation entry's bytes: tag, node id, the 16 bytes.
    static func memberIncarnationEntry(node: UInt64, incarnation: Incarnation) -> [UInt8] {
        var bytes: [UInt8] = [Tag.memberIncarnation.rawValue]
        bytes.appendBigEndian(node)
        return bytes + incarnation.bytes
    }

    /// The incarnation the cluster has recorded for `node`, as of the entries applied here.
    func incarnation(of node: UInt64) -> Incarnation? { incarnations.withLock { $0[node] } }

    /// A removed node's records go with it: the id may join again from a new directory,
    /// and with another build.
    func memberRemoved(_ node: UInt64, at index: UInt64) {
        _ = incarnations.withLock { $0.removeValue(forKey: node) }
        _ = levels.withLock { $0.removeValue(forKey: node) }
    }

    /// Every recorded incarnation, by node id.
    var recordedIncarnations: [UInt64: Incarnation] { incarnations.withLock { $0 } }

    static func decodeIncarnation(in data: [UInt8]) -> (UInt64, Incarnation)? {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let node = reader.readUInt64(), node != 0, let bytes = reader.readBytes(Incarnation.byteCount), reader.isAtEnd,
              let incarnation = Incarnation(bytes: bytes) else { return nil }
        return (node, incarnation)
    }

    /// The recorded incarnations in a snapshot: a count, then (node, 16 bytes) by node id.
    static func encodeIncarnations(_ map: [UInt64: Incarnation]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(map.count))
        for (node, incarnation) in map.sorted(by: { $0.key < $1.key }) {
            bytes.appendBigEndian(node)
            bytes += incarnation.bytes
        }
        return bytes
    }

    static func decodeIncarnations(_ reader: inout ByteReader) -> [UInt64: Incarnation]? {
        guard let count = reader.readUInt32(), Int(count) <= reader.remaining / (8 + Incarnation.byteCount) else { return nil }
        var map: [UInt64: Incarnation] = [:]
        for _ in 0..<count {
            guard let node = reader.readUInt64(), node != 0, let bytes = reader.readBytes(Incarnation.byteCount),
                  let incarnation = Incarnation(bytes: bytes), map.updateValue(incarnation, forKey: node) == nil else { return nil }
        }
        return map
    }
}
