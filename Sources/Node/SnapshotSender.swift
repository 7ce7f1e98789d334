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
        /// The log index the snapshot covers.
        var index: UInt64
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
    /// Failed streams in a row, per follower.
    private let failures = Mutex<[UInt64: Int]>([:])
    /// The longest wait before a failed stream is reported (and so retried).
    static let retryDelayMax = Duration.seconds(30)

    init(transport: PeerTransport, chunkBytes: Int, chunkTimeout: Duration, logger: Logger) {
        self.transport = transport
        self.chunkBytes = chunkBytes
        self.chunkTimeout = chunkTimeout
        self.logger = logger
    }

    /// Streams `message` (the encoded snapshot message) to `peer`; `done(failed)` runs once
    /// at the end unless the stream is cancelled or replaced.
    func start(_ message: [UInt8], at index: UInt64, to peer: UInt64, done: @escaping @Sendable (_ failed: Bool) async -> Void) {
        let id = UInt64.random(in: 1...UInt64.max)
        // Registered before the task starts, so a stream that ends at once still finds
        // itself and reports to Raft.
        let replaced = streams.withLock { streams in
            defer { streams[peer] = Stream(id: id, index: index, task: nil, total: message.count, sent: 0, started: .now) }
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
                // A follower that refuses (too large for it, unreadable to its version)
                // would be sent the whole snapshot again at the next heartbeat: wait first,
                // longer after each failure in a row, with only heartbeats going to it.
                let delay = retryDelay(afterFailureTo: peer)
                logger.warning(
                    "snapshot stream failed; Raft will try again", metadata: ["to": "\(peer)", "error": "\(error)", "retry_in": "\(delay)"])
                do { try await Task.sleep(for: delay) } catch { return }
                failed = true
            }
            if !failed { failures.withLock { $0[peer] = nil } }
            guard finish(peer, id) else { return }
            if !failed { completed.withLock { $0 += 1 } }
            await done(failed)
        }
        streams.withLock { if $0[peer]?.id == id { $0[peer]?.task = task } }
        logger.info("streaming a snapshot", metadata: ["to": "\(peer)", "bytes": "\(message.count)", "chunk_bytes": "\(chunkBytes)"])
    }

    /// Stops the stream to `peer` (it left the cluster).
    func cancel(_ peer: UInt64) {
        streams.withLock { $0.removeValue(forKey: peer) }?.task?.cancel()
    }

    /// The lowest log index a snapshot under way covers: the log must not be compacted
    /// past it, or the follower, once it has installed the snapshot, would find the
    /// entries after it gone and need another.
    var lowestIndexUnderWay: UInt64? { streams.withLock { $0.values.map(\.index).min() } }

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
            // The last chunk's answer waits for the follower to check, persist and install
            // the whole snapshot.
            let timeout = end == message.count ? chunkTimeout * 4 : chunkTimeout
            let reply = try await transport.request(.snapshotChunk, chunk.encode(), to: PeerID(peer), timeout: timeout)
            switch SnapshotChunkAnswer.decode(reply.payload) {
            case let .accepted(received)? where received == UInt64(end):
                offset = end
                streams.withLock { if $0[peer]?.id == id { $0[peer]?.sent = end } }
            case let .refused(reason)?:
                throw StreamFailure.refused(reason)
            default:
                throw StreamFailure.unexpectedAnswer
            }
        }
    }

    /// 0.5 s after the first failure in a row, doubling up to `retryDelayMax`.
    private func retryDelay(afterFailureTo peer: UInt64) -> Duration {
        let count = failures.withLock { failures in
            let count = failures[peer, default: 0] + 1
            failures[peer] = count
            return count
        }
        return min(Self.retryDelayMax, .milliseconds(500) * (1 << min(count - 1, 10)))
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
