import Foundation
import Gateway
import Logging
import Storage
import Synchronization

/// The node's own usage events, kept in the `usage_events` column family (DESIGN.md
/// section 5). The request path only appends to a buffer; a loop writes the buffer in
/// one unsynced batch every `flushInterval` (a crash may lose that last interval, never
/// corrupt the rest). Keys are the event time and a sequence number, big-endian, so a
/// scan runs in time order.
public final class UsageRecorder: UsageSink, Sendable {
    /// How often buffered events are written.
    static let flushInterval = Duration.milliseconds(200)
    /// Events held at most while writes lag; older ones are dropped first and counted.
    static let bufferedEventsMax = 100_000

    private struct Buffer {
        var events: [UsageEvent] = []
        var sequence: UInt64 = 0
        var dropped = 0
    }

    private let buffer = Mutex(Buffer())
    private let database: Database
    private let logger: Logger
    private let encoder = JSONEncoder()

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func record(_ event: UsageEvent) {
        buffer.withLock { buffer in
            if buffer.events.count >= Self.bufferedEventsMax {
                buffer.events.removeFirst()
                buffer.dropped += 1
            }
            buffer.events.append(event)
        }
    }

    /// Writes what is buffered; returns how many events were written.
    @discardableResult
    public func flush() throws -> Int {
        let (events, first, dropped) = buffer.withLock { buffer -> ([UsageEvent], UInt64, Int) in
            let taken = buffer.events
            let first = buffer.sequence
            let dropped = buffer.dropped
            buffer.events.removeAll(keepingCapacity: true)
            buffer.sequence += UInt64(taken.count)
            buffer.dropped = 0
            return (taken, first, dropped)
        }
        if dropped > 0 { logger.warning("dropped usage events while writes lagged", metadata: ["dropped": "\(dropped)"]) }
        guard !events.isEmpty else { return 0 }
        var batch = WriteBatch()
        for (offset, event) in events.enumerated() {
            batch.put(StorageLayout.usageEvents, key: Self.key(time: event.time, sequence: first + UInt64(offset)), value: Array(try encoder.encode(event)))
        }
        try database.write(batch, sync: false)
        return events.count
    }

    /// Flushes every `flushInterval` until cancelled, then once more.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.flushInterval)
            do { try flush() } catch { logger.error("could not write usage events", metadata: ["error": "\(error)"]) }
        }
        _ = try? flush()
    }

    /// The events stored, in time order (tests and the analytics).
    func stored(limit: Int = .max) throws -> [UsageEvent] {
        let decoder = JSONDecoder()
        return try database.scan(StorageLayout.usageEvents, limit: limit).compactMap { try? decoder.decode(UsageEvent.self, from: Data($0.value)) }
    }

    static func key(time: Int64, sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: time).bigEndian, Array.init) + withUnsafeBytes(of: sequence.bigEndian, Array.init)
    }
}
