import BinaryCoding

/// The byte form of Raft messages and log entries, for the peer transport and for
/// RocksDB. Big-endian, versioned, and decoded defensively: every count and length is
/// checked against the bytes that remain, so hostile input yields nil, never a trap or a
/// huge allocation. Terms and indexes past `RaftLimits` are refused everywhere (messages,
/// entries, hard states, snapshot metadata), and a message must also pass
/// `Message.validate()`: this is the one boundary a peer's bytes cross.
public enum MessageCodec {
    /// Why bytes were not taken as a message.
    public enum DecodeError: Error, Equatable, Sendable {
        /// Not the byte form of a message of this version: truncated, trailing bytes, an
        /// unknown kind, a count larger than the bytes, a term or index past the limits in
        /// an entry or snapshot.
        case malformed
        /// A well-formed message that no correct node sends (see `Message.Defect`).
        case refused(Message.Defect)
    }

    static let version: UInt8 = 1
    /// Bytes an entry takes at least on the wire (term, index, kind, data length).
    static let entryBytesMin = 21

    /// Encodes `message`.
    public static func encode(_ message: Message) -> [UInt8] {
        var bytes: [UInt8] = [version, message.kind.rawValue]
        for field in [message.from, message.to, message.term, message.logTerm, message.index, message.commit, message.rejectHint] {
            bytes.appendBigEndian(field)
        }
        bytes.append(message.reject ? 1 : 0)
        bytes.appendLengthPrefixed(message.context)
        bytes.appendBigEndian(UInt32(message.entries.count))
        for entry in message.entries { appendEntry(entry, to: &bytes) }
        if let snapshot = message.snapshot {
            bytes.append(1)
            appendSnapshot(snapshot, to: &bytes)
        } else {
            bytes.append(0)
        }
        return bytes
    }

    /// Decodes a message, or nil when the bytes are not one or it fails validation.
    public static func decodeMessage(_ bytes: [UInt8]) -> Message? { try? decode(bytes) }

    /// Decodes and validates a message, saying why when the bytes are refused (for the
    /// caller's drop counters).
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Message {
        guard let message = decodeUnvalidated(bytes) else { throw .malformed }
        do {
            try message.validate()
        } catch {
            throw .refused(error)
        }
        return message
    }

    private static func decodeUnvalidated(_ bytes: [UInt8]) -> Message? {
        var reader = ByteReader(bytes)
        guard reader.readByte() == version, let kindByte = reader.readByte(),
              let kind = Message.Kind(rawValue: kindByte),
              let from = reader.readUInt64(), let to = reader.readUInt64(), let term = reader.readUInt64(),
              let logTerm = reader.readUInt64(), let index = reader.readUInt64(), let commit = reader.readUInt64(),
              let rejectHint = reader.readUInt64(), let reject = reader.readByte(), reject <= 1,
              let context = reader.readLengthPrefixed(), let count = reader.readUInt32(),
              Int(count) <= reader.remaining / entryBytesMin
        else { return nil }
        var message = Message(kind: kind, from: from, to: to, term: term)
        message.logTerm = logTerm
        message.index = index
        message.commit = commit
        message.rejectHint = rejectHint
        message.reject = reject == 1
        message.context = context
        message.entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let entry = readEntry(&reader) else { return nil }
            message.entries.append(entry)
        }
        switch reader.readByte() {
        case 0?: break
        case 1?:
            guard let snapshot = readSnapshot(&reader) else { return nil }
            message.snapshot = snapshot
        default: return nil
        }
        return reader.isAtEnd ? message : nil
    }

    /// Encodes one log entry (as stored under its index in RocksDB).
    public static func encode(_ entry: Entry) -> [UInt8] {
        var bytes: [UInt8] = []
        appendEntry(entry, to: &bytes)
        return bytes
    }

    /// Decodes one log entry.
    public static func decodeEntry(_ bytes: [UInt8]) -> Entry? {
        var reader = ByteReader(bytes)
        guard let entry = readEntry(&reader), reader.isAtEnd else { return nil }
        return entry
    }

    /// Encodes a hard state (24 bytes).
    public static func encode(_ state: HardState) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(state.term)
        bytes.appendBigEndian(state.vote)
        bytes.appendBigEndian(state.commit)
        return bytes
    }

    /// Decodes a hard state.
    public static func decodeHardState(_ bytes: [UInt8]) -> HardState? {
        var reader = ByteReader(bytes)
        guard let term = reader.readUInt64(), let vote = reader.readUInt64(), let commit = reader.readUInt64(),
              reader.isAtEnd, term <= RaftLimits.termMax, commit <= RaftLimits.indexMax else { return nil }
        return HardState(term: term, vote: vote, commit: commit)
    }

    /// Encodes snapshot metadata (without the data).
    public static func encode(_ metadata: SnapshotMetadata) -> [UInt8] {
        var bytes: [UInt8] = []
        appendMetadata(metadata, to: &bytes)
        return bytes
    }

    /// Decodes snapshot metadata.
    public static func decodeSnapshotMetadata(_ bytes: [UInt8]) -> SnapshotMetadata? {
        var reader = ByteReader(bytes)
        guard let metadata = readMetadata(&reader), reader.isAtEnd else { return nil }
        return metadata
    }

    // MARK: - Parts

    private static func appendEntry(_ entry: Entry, to bytes: inout [UInt8]) {
        bytes.appendBigEndian(entry.term)
        bytes.appendBigEndian(entry.index)
        bytes.append(entry.kind.rawValue)
        bytes.appendLengthPrefixed(entry.data)
    }

    private static func readEntry(_ reader: inout ByteReader) -> Entry? {
        guard let term = reader.readUInt64(), let index = reader.readUInt64(), let kindByte = reader.readByte(),
              let kind = Entry.Kind(rawValue: kindByte), let data = reader.readLengthPrefixed(),
              term <= RaftLimits.termMax, index <= RaftLimits.indexMax
        else { return nil }
        return Entry(term: term, index: index, kind: kind, data: data)
    }

    private static func appendMetadata(_ metadata: SnapshotMetadata, to bytes: inout [UInt8]) {
        bytes.appendBigEndian(metadata.index)
        bytes.appendBigEndian(metadata.term)
        for group in [metadata.configuration.voters, metadata.configuration.learners] {
            bytes.appendBigEndian(UInt32(group.count))
            group.forEach { bytes.appendBigEndian($0) }
        }
    }

    private static func readMetadata(_ reader: inout ByteReader) -> SnapshotMetadata? {
        guard let index = reader.readUInt64(), let term = reader.readUInt64(),
              index <= RaftLimits.indexMax, term <= RaftLimits.termMax else { return nil }
        var groups: [[NodeID]] = []
        for _ in 0..<2 {
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining / 8 else { return nil }
            var group: [NodeID] = []
            for _ in 0..<count {
                guard let id = reader.readUInt64(), id != noNode else { return nil }
                group.append(id)
            }
            groups.append(group)
        }
        guard Set(groups[0]).isDisjoint(with: groups[1]) else { return nil }
        return SnapshotMetadata(index: index, term: term, configuration: ConfigurationState(voters: groups[0], learners: groups[1]))
    }

    private static func appendSnapshot(_ snapshot: Snapshot, to bytes: inout [UInt8]) {
        appendMetadata(snapshot.metadata, to: &bytes)
        bytes.appendLengthPrefixed(snapshot.data)
    }

    private static func readSnapshot(_ reader: inout ByteReader) -> Snapshot? {
        guard let metadata = readMetadata(&reader), let data = reader.readLengthPrefixed() else { return nil }
        return Snapshot(metadata: metadata, data: data)
    }
}
