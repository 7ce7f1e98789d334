/// The follower's side of a snapshot stream: the chunks of one stream at a time, in order,
/// into one buffer. Pure (time is passed in), so its rules are tested without a network.
///
/// A chunk at offset 0 starts a stream and replaces any other (a new leader, or the same
/// leader trying again). Any other chunk must continue the current stream exactly where
/// it stands; anything else is refused and leaves the current stream as it was. A stream
/// left without a chunk for `idleMax` is dropped, so a vanished leader's half-sent
/// snapshot does not hold memory.
struct SnapshotAssembly {
    struct Incoming {
        var sender: UInt64
        var stream: UInt64
        var total: Int
        var bytes: [UInt8]
        var started: ContinuousClock.Instant
        var lastChunk: ContinuousClock.Instant
    }

    enum Outcome: Equatable {
        /// Held; the stream has `received` bytes so far.
        case partial(received: UInt64)
        /// The last chunk: the whole encoded message.
        case complete([UInt8])
        case refused(SnapshotRefusal)
    }

    /// The longest stream accepted, in bytes (`raft.snapshot_bytes_max`).
    let bytesMax: Int
    /// How long a stream may go without a chunk before it is dropped.
    let idleMax: Duration
    private(set) var incoming: Incoming?

    init(bytesMax: Int, idleMax: Duration) {
        self.bytesMax = bytesMax
        self.idleMax = idleMax
    }

    mutating func add(_ chunk: SnapshotChunk, from sender: UInt64, now: ContinuousClock.Instant) -> Outcome {
        expire(now: now)
        guard chunk.total <= UInt64(bytesMax) else {
            if incoming?.stream == chunk.stream { incoming = nil }
            return .refused(.tooLarge)
        }
        if chunk.offset == 0 {
            incoming = Incoming(sender: sender, stream: chunk.stream, total: Int(chunk.total), bytes: [], started: now, lastChunk: now)
        }
        guard var current = incoming, current.sender == sender, current.stream == chunk.stream,
              current.total == Int(chunk.total), current.bytes.count == Int(chunk.offset)
        else { return .refused(.outOfOrder) }
        incoming = nil  // appended outside the optional, so the buffer is not copied
        current.bytes.append(contentsOf: chunk.bytes)
        current.lastChunk = now
        if current.bytes.count == current.total { return .complete(current.bytes) }
        incoming = current
        return .partial(received: UInt64(current.bytes.count))
    }

    /// Drops a stream that has been idle longer than `idleMax`.
    mutating func expire(now: ContinuousClock.Instant) {
        if let current = incoming, now - current.lastChunk > idleMax { incoming = nil }
    }
}
