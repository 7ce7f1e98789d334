import BinaryCoding
import Transport

extension MessageType {
    /// Leader → follower: one chunk of a Raft snapshot message too large for one frame
    /// (a request; the follower answers with `.snapshotChunkAnswer`).
    static let snapshotChunk = MessageType(0x0103)
    /// Follower → leader: how much of the stream it holds, or why it refused a chunk.
    static let snapshotChunkAnswer = MessageType(0x0104)
}

/// One piece of a streamed snapshot: the bytes at `offset` of an encoded Raft snapshot
/// message `total` bytes long, under a stream id the sender chose. Chunks of one stream go
/// in order, each acknowledged before the next, so the follower holds one growing buffer
/// and the link and the follower set the pace, not a send queue.
struct SnapshotChunk: Equatable, Sendable {
    static let version: UInt8 = 1
    /// Bytes of the header before the chunk's data (version, stream, total, offset, length).
    static let headerBytes = 1 + 8 + 8 + 8 + 4

    var stream: UInt64
    var total: UInt64
    var offset: UInt64
    var bytes: [UInt8]

    func encode() -> [UInt8] {
        var encoded: [UInt8] = [Self.version]
        encoded.reserveCapacity(Self.headerBytes + bytes.count)
        encoded.appendBigEndian(stream)
        encoded.appendBigEndian(total)
        encoded.appendBigEndian(offset)
        encoded.appendLengthPrefixed(bytes)
        return encoded
    }

    /// The chunk, or nil unless it is non-empty and lies inside its stream
    /// (`offset + bytes.count ≤ total`, checked without overflow).
    static func decode(_ encoded: [UInt8]) -> SnapshotChunk? {
        var reader = ByteReader(encoded)
        guard reader.readByte() == version, let stream = reader.readUInt64(), let total = reader.readUInt64(),
              let offset = reader.readUInt64(), let bytes = reader.readLengthPrefixed(), reader.isAtEnd,
              !bytes.isEmpty, offset <= total, UInt64(bytes.count) <= total - offset
        else { return nil }
        return SnapshotChunk(stream: stream, total: total, offset: offset, bytes: bytes)
    }
}

/// The follower's answer to a chunk.
enum SnapshotChunkAnswer: Equatable, Sendable {
    /// The follower holds the first `received` bytes of the stream (all of them: the
    /// message went on to be checked and installed).
    case accepted(received: UInt64)
    /// The chunk was refused; the sender stops the stream and Raft tries again later.
    case refused(SnapshotRefusal)

    func encode() -> [UInt8] {
        var encoded: [UInt8] = [SnapshotChunk.version]
        switch self {
        case let .accepted(received):
            encoded.append(0)
            encoded.appendBigEndian(received)
        case let .refused(reason):
            encoded.append(reason.rawValue)
            encoded.appendBigEndian(UInt64(0))
        }
        return encoded
    }

    static func decode(_ encoded: [UInt8]) -> SnapshotChunkAnswer? {
        var reader = ByteReader(encoded)
        guard reader.readByte() == SnapshotChunk.version, let code = reader.readByte(), let received = reader.readUInt64(),
              reader.isAtEnd else { return nil }
        if code == 0 { return .accepted(received: received) }
        return SnapshotRefusal(rawValue: code).map { .refused($0) }
    }
}

/// Why a follower refused a snapshot chunk.
enum SnapshotRefusal: UInt8, Equatable, Sendable, CustomStringConvertible {
    /// The stream is longer than `raft.snapshot_bytes_max`.
    case tooLarge = 1
    /// Not the next chunk of the stream being assembled (a lost or repeated chunk, or a
    /// stream this node has dropped).
    case outOfOrder = 2
    /// The chunk's bytes are not a chunk.
    case malformed = 3
    /// The assembled snapshot does not decode, or its state would not restore here.
    case unreadable = 4
    /// The sender is not the leader this node follows, or this node is still checking
    /// another snapshot.
    case notNow = 5

    var description: String {
        switch self {
        case .tooLarge: "the snapshot is larger than raft.snapshot_bytes_max on the follower"
        case .outOfOrder: "the chunk is not the next one of the stream the follower assembles"
        case .malformed: "the chunk is not readable"
        case .unreadable: "the assembled snapshot does not decode or would not restore on the follower"
        case .notNow: "the follower takes snapshots only from its leader, one at a time"
        }
    }
}
