import BinaryCoding
import DequeModule
import Policy
import QuotaCRDT
import Synchronization

/// The node state snapshot: taking it (format 5, zstd around a format-6 or 7 body),
/// checking a leader's before Raft takes it, and restoring it.
extension NodeStateMachine {
    /// The snapshot: format 5, a body compressed with zstd (`[5]`, the body's length as a
    /// big-endian `UInt64`, one zstd frame), about a tenth of its size. The body is format 7
    /// once the cluster is at level 4, format 6 (which level-3 builds read) before.
    func snapshot() -> [UInt8] { snapshotEncoder()() }

    /// Captures the state now (the small parts as bytes, the policy as a copy-on-write
    /// value) and returns the encoding of it, which the Raft driver runs off its thread:
    /// the JSON and the compression of a large policy take longer than a heartbeat.
    func snapshotEncoder() -> @Sendable () -> [UInt8] {
        let version = snapshotBodyVersion
        let (head, tail) = smallSnapshotParts(version: version)
        let state = policy.current
        let pool = pool.withLock { $0 }
        let levels = levelsPart(version: version)
        return {
            var bytes = head
            bytes.appendLengthPrefixed(PolicyCodec.snapshot(state))
            bytes += tail + pool.encode() + levels
            var compressed: [UInt8] = [Self.compressedSnapshotVersion]
            compressed.appendBigEndian(UInt64(bytes.count))
            compressed += Zstd.compress(bytes)
            return compressed
        }
    }

    /// The compressed snapshot format (see `snapshot()`).
    static let compressedSnapshotVersion: UInt8 = 5
    /// The largest snapshot body a compressed snapshot may expand to: a frame that says
    /// more is refused before anything is allocated.
    static let snapshotExpandedBytesMax = 4 << 30
    /// How many times its compressed size a snapshot body may be. Policy JSON compresses
    /// about 10 to 50 times; a frame of zeros that claims gigabytes from a few kilobytes
    /// (a bomb) is refused before anything is allocated.
    static let snapshotExpansionMax = 1024

    /// Format 6: canaries, the quota schedule, the policy (JSON), the incarnations and the
    /// quota pool (format 4 had no pool; format 5 is the compressed wrapper).
    func uncompressedSnapshot() -> [UInt8] {
        let version = snapshotBodyVersion
        let (head, tail) = smallSnapshotParts(version: version)
        var bytes = head
        bytes.appendLengthPrefixed(policy.snapshot())
        return bytes + tail + pool.withLock { $0.encode() } + levelsPart(version: version)
    }

    /// The snapshot body's format: 7 (with the members' levels) once the cluster is at
    /// level 4, 6 before, so that a member still on a level-3 build can install it.
    var snapshotBodyVersion: UInt8 { clusterLevel >= 4 ? 7 : 6 }

    /// The recorded levels, in a format-7 body; nothing in a format-6 one.
    private func levelsPart(version: UInt8) -> [UInt8] {
        version >= 7 ? Self.encodeLevels(levels.withLock { $0 }) : []
    }

    /// The body before the policy (version, canaries, schedule) and after it (incarnations;
    /// the pool follows, encoded by the caller: off the Raft thread for a periodic snapshot).
    private func smallSnapshotParts(version: UInt8) -> (head: [UInt8], tail: [UInt8]) {
        var bytes: [UInt8] = [version]
        canaries.withLock { state in
            bytes.appendBigEndian(state.count)
            bytes += state.digest
            bytes.appendBigEndian(state.lastIndex)
            bytes.appendBigEndian(UInt32(state.recent.count))
            for canary in state.recent {
                bytes.appendBigEndian(canary.index)
                bytes.appendBigEndian(canary.nonce)
            }
        }
        bytes += schedule.withLock { $0.encode() }
        return (bytes, incarnations.withLock { Self.encodeIncarnations($0) })
    }

    struct UnreadableSnapshot: Error, CustomStringConvertible {
        var description: String { "the node state snapshot is unreadable" }
    }

    func canRestore(from data: [UInt8]) -> Bool {
        guard let parsed = try? Self.parse(data) else { return false }
        checkedSnapshot.withLock { $0 = CheckedSnapshot(bytes: data, parsed: parsed) }
        return true
    }

    func forgetCheckedSnapshot() { checkedSnapshot.withLock { $0 = nil } }

    func restore(from data: [UInt8], at index: UInt64) throws {
        let checked = checkedSnapshot.withLock { held in
            defer { held = nil }
            return held
        }
        let parsed = try checked.flatMap { $0.bytes == data ? $0.parsed : nil } ?? Self.parse(data)
        canaries.withLock { $0 = parsed.canaries }
        incarnations.withLock { $0 = parsed.incarnations }
        levels.withLock { $0 = parsed.levels }
        schedule.withLock { $0 = parsed.schedule }
        pool.withLock { $0 = parsed.pool }
        policy.restore(parsed.policy, at: index)
        onQuotaSchedule(parsed.schedule)
        let updates = poolUpdates()
        if !updates.isEmpty { onQuotaAllocation(updates) }
    }

    struct CheckedSnapshot: Sendable {
        var bytes: [UInt8]
        var parsed: ParsedSnapshot
    }

    struct ParsedSnapshot: Sendable {
        var canaries = Canaries()
        var schedule = MembershipSchedule()
        var policy = PolicyState()
        var incarnations: [UInt64: Incarnation] = [:]
        var pool = QuotaPool()
        var levels: [UInt64: UInt16] = [:]
    }

    private static func parse(_ data: [UInt8]) throws -> ParsedSnapshot {
        var parsed = ParsedSnapshot()
        if data.first == compressedSnapshotVersion {
            var reader = ByteReader(data)
            _ = reader.readByte()
            guard let size = reader.readUInt64(), size <= UInt64(snapshotExpandedBytesMax),
                  size / UInt64(snapshotExpansionMax) <= UInt64(reader.remaining),
                  let frame = reader.readBytes(reader.remaining), let body = Zstd.decompress(frame, size: Int(size)),
                  body.first != compressedSnapshotVersion
            else { throw UnreadableSnapshot() }
            return try parse(body)
        }
        if !data.isEmpty {
            var reader = ByteReader(data)
            guard let version = reader.readByte(), [1, 2, 3, 4, 6, 7].contains(version), let count = reader.readUInt64(),
                  let digest = reader.readBytes(32), let last = reader.readUInt64(), let kept = reader.readUInt32(),
                  Int(kept) <= reader.remaining / 16
            else { throw UnreadableSnapshot() }
            parsed.canaries.count = count
            parsed.canaries.digest = digest
            parsed.canaries.lastIndex = last
            for _ in 0..<kept {
                guard let index = reader.readUInt64(), let nonce = reader.readUInt64() else { throw UnreadableSnapshot() }
                parsed.canaries.recent.append((index, nonce))
            }
            if version >= 2 {
                guard let decoded = MembershipSchedule.decode(&reader) else { throw UnreadableSnapshot() }
                parsed.schedule = decoded
            }
            if version >= 3 {
                guard let bytes = reader.readLengthPrefixed() else { throw UnreadableSnapshot() }
                parsed.policy = try PolicyCodec.restore(bytes)
            }
            if version >= 4 {
                guard let decoded = decodeIncarnations(&reader) else { throw UnreadableSnapshot() }
                parsed.incarnations = decoded
            }
            if version >= 6 {
                guard let decoded = QuotaPool.decode(&reader) else { throw UnreadableSnapshot() }
                parsed.pool = decoded
            }
            if version >= 7 {
                guard let decoded = decodeLevels(&reader) else { throw UnreadableSnapshot() }
                parsed.levels = decoded
            }
            guard reader.isAtEnd else { throw UnreadableSnapshot() }
        }
        return parsed
    }
}
