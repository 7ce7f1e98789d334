import Gateway
import Logging
import Synchronization
import Transport

/// The leader's side of snapshot streaming: sends an encoded Raft snapshot message to one
/// follower in chunks of `chunkBytes`, each acknowledged before the next, and reports the
/// outcome to Raft (which sends the follower nothing else meanwhile but heartbeats, so the
/// follower keeps its leader through a long transfer). One stream per follower; a new one
/// replaces the old.
final class SnapshotSender: Sendable {
    private struct Stream {
        var id: UInt64
        var task: Task<Void, Never>?
        var total: Int
        var sent: Int
        var started: ContinuousClock.Instant
    }

    private let transport: PeerTransport
    private let chunkBytes: Int
    private let chunkTimeout: Duration
    private let logger: Logger
    private let streams = Mutex<[UInt64: Stream]>([:])
    private let completed = Mutex(0)

    init(transport: PeerTransport, chunkBytes: Int, chunkTimeout: Duration, logger: Logger) {
        self.transport = transport
        self.chunkBytes = chunkBytes
        self.chunkTimeout = chunkTimeout
        self.logger = logger
    }

    /// Streams `message` (the encoded snapshot message) to `peer`; `done(failed)` runs once
    /// at the end unless the stream is cancelled or replaced.
    func start(_ message: [UInt8], to peer: UInt64, done: @escaping @Sendable (_ failed: Bool) async -> Void) {
        let id = UInt64.random(in: 1...UInt64.max)
        // Registered before the task starts, so a stream that ends at once still finds
        // itself and reports to Raft.
        let replaced = streams.withLock { streams in
            defer { streams[peer] = Stream(id: id, task: nil, total: message.count, sent: 0, started: .now) }
            return streams[peer]
        }
        replaced?.task?.cancel()
        let task = Task { [self] in
            let failed: Bool
            do {
                try await send(message, to: peer, stream: id)
                failed = false
            } catch is CancellationError {
                return
            } catch {
                logger.warning("snapshot stream failed; Raft will try again", metadata: ["to": "\(peer)", "error": "\(error)"])
                failed = true
            }
            guard finish(peer, id) else { return }
            if !failed { completed.withLock { $0 += 1 } }
            await done(failed)
        }
        streams.withLock { if $0[peer]?.id == id { $0[peer]!.task = task } }
        logger.info("streaming a snapshot", metadata: ["to": "\(peer)", "bytes": "\(message.count)", "chunk_bytes": "\(chunkBytes)"])
    }

    /// Stops every stream (this node is no longer the leader).
    func cancelAll() {
        let all = streams.withLock { streams in
            defer { streams = [:] }
            return streams.values.compactMap(\.task)
        }
        all.forEach { $0.cancel() }
    }

    /// Streams that delivered their whole snapshot, since start.
    var completedCount: Int { completed.withLock { $0 } }

    /// The streams under way, for `clusterctl status`.
    func transfers(now: ContinuousClock.Instant = .now) -> [SnapshotTransfer] {
        streams.withLock { streams in
            streams.map { peer, stream in
                SnapshotTransfer(
                    peer: peer, direction: "sending", bytesDone: UInt64(stream.sent), bytesTotal: UInt64(stream.total),
                    elapsed: now - stream.started)
            }.sorted { $0.peer < $1.peer }
        }
    }

    private func send(_ message: [UInt8], to peer: UInt64, stream id: UInt64) async throws {
        var offset = 0
        while offset < message.count {
            try Task.checkCancellation()
            let end = min(offset + chunkBytes, message.count)
            let chunk = SnapshotChunk(stream: id, total: UInt64(message.count), offset: UInt64(offset), bytes: Array(message[offset..<end]))
            let reply = try await transport.request(.snapshotChunk, chunk.encode(), to: PeerID(peer), timeout: chunkTimeout)
            switch SnapshotChunkAnswer.decode(reply.payload) {
            case let .accepted(received)? where received == UInt64(end):
                offset = end
                streams.withLock { if $0[peer]?.id == id { $0[peer]!.sent = end } }
            case let .refused(reason)?:
                throw StreamFailure.refused(reason)
            default:
                throw StreamFailure.unexpectedAnswer
            }
        }
    }

    /// Removes `peer`'s stream if it is still `id`; false when it was replaced or cancelled.
    private func finish(_ peer: UInt64, _ id: UInt64) -> Bool {
        streams.withLock { streams in
            guard streams[peer]?.id == id else { return false }
            streams[peer] = nil
            return true
        }
    }

    enum StreamFailure: Error, CustomStringConvertible {
        case refused(SnapshotRefusal)
        case unexpectedAnswer

        var description: String {
            switch self {
            case let .refused(reason): "the follower refused a chunk: \(reason)"
            case .unexpectedAnswer: "the follower's answer did not acknowledge the chunk"
            }
        }
    }
}
