import Foundation
import Gateway
import Logging
import Storage
import Synchronization

/// The node's own usage events, kept in the `usage_events` column family (DESIGN.md
/// section 5), and their sums per minute in `usage_rollups`. The request path only
/// appends to a buffer; a loop writes the buffer and the updated sums in one unsynced
/// batch every `flushInterval` (a crash may lose that last interval, never corrupt the
/// rest). Event keys are the event time and a sequence number, big-endian, so a scan runs
/// in time order. Events older than `retention`, and sums older than `rollupRetention`,
/// are deleted once an hour.
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

    /// How often old events and sums are deleted.
    static let pruneInterval: Int64 = 3_600_000

    private let buffer = Mutex(Buffer())
    /// Serializes flushes: the sums are read, added to and written back.
    private let writing = Mutex<Int64>(0)
    private let database: Database
    private let logger: Logger
    /// Stamped on the events this node answers with, with their sequence number.
    let nodeID: UInt64
    private let encoder = JSONEncoder()
    let retention: Int64
    let rollupRetention: Int64
    let clock: @Sendable () -> Int64

    /// `retentionDays` for events, `rollupRetentionDays` for the per-minute sums.
    /// Sequence numbers continue after the last stored event's, so an event's
    /// (node, sequence) stays unique across restarts.
    public init(
        database: Database, nodeID: UInt64, logger: Logger, retentionDays: Int = 30, rollupRetentionDays: Int = 400,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        self.database = database
        self.nodeID = nodeID
        if let last = try database.scan(StorageLayout.usageEvents, reverse: true, limit: 1).first, let parsed = Self.parse(last.key) {
            // A sequence read from disk may be anything; past `sequenceMax` numbering restarts
            // (uniqueness then rests on the event time, which is part of the key too).
            buffer.withLock { $0.sequence = parsed.sequence < Self.sequenceMax ? parsed.sequence + 1 : 0 }
        }
        self.logger = logger
        retention = Int64(retentionDays) * 86_400_000
        rollupRetention = Int64(rollupRetentionDays) * 86_400_000
        self.clock = clock
    }

    /// The highest sequence number continued from: 2^62 events is far past any node's
    /// life, and the additions below stay far from overflow.
    static let sequenceMax: UInt64 = 1 << 62

    public func record(_ event: UsageEvent) {
        buffer.withLock { buffer in
            if buffer.events.count >= Self.bufferedEventsMax {
                buffer.events.removeFirst()
                buffer.dropped += 1
            }
            buffer.events.append(event)
        }
    }

    /// Writes what is buffered; returns how many events were written. A write that fails
    /// (a failing disk) puts the events back at the front of the buffer, for the next
    /// flush, within `bufferedEventsMax`: nothing of the batch was written (one atomic
    /// write), so nothing is counted twice.
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
        do {
            return try write(events, first: first)
        } catch {
            requeue(events)
            throw error
        }
    }

    /// Puts events that could not be written back before those recorded since, keeping
    /// at most `bufferedEventsMax` (the oldest go first, counted as dropped).
    private func requeue(_ events: [UsageEvent]) {
        buffer.withLock { buffer in
            buffer.events.insert(contentsOf: events, at: 0)
            let excess = buffer.events.count - Self.bufferedEventsMax
            if excess > 0 {
                buffer.events.removeFirst(excess)
                buffer.dropped += excess
            }
        }
    }

    /// Events waiting to be written.
    var buffered: Int { buffer.withLock { $0.events.count } }

    private func write(_ events: [UsageEvent], first: UInt64) throws -> Int {
        try writing.withLock { lastPrune in
            var batch = WriteBatch()
            let now = clock()
            if now - lastPrune >= Self.pruneInterval {
                lastPrune = now
                batch.deleteRange(StorageLayout.usageEvents, start: Self.key(time: 0, sequence: 0), end: Self.key(time: now - retention, sequence: 0))
                batch.deleteRange(StorageLayout.usageRollups, start: UsageRollup.key(minute: 0),
                                  end: UsageRollup.key(minute: UsageRollup.minute(of: now - rollupRetention)))
            }
            for (offset, event) in events.enumerated() {
                batch.put(StorageLayout.usageEvents, key: Self.key(time: event.time, sequence: first + UInt64(offset)), value: UsageEventCodec.encode(event))
            }
            let decoder = JSONDecoder()
            for (key, sum) in UsageRollup.sums(events) {
                var total = try database.get(StorageLayout.usageRollups, key).flatMap { try? decoder.decode(UsageTotals.self, from: Data($0)) } ?? UsageTotals()
                total.add(sum)
                batch.put(StorageLayout.usageRollups, key: key, value: Array(try encoder.encode(total)))
            }
            guard !batch.isEmpty else { return 0 }
            try database.write(batch, sync: false)
            return events.count
        }
    }

    /// The per-minute sums of the minutes that overlap `start` (inclusive) to `end`
    /// (exclusive), ms since the epoch.
    func rollups(from start: Int64, to end: Int64) throws -> [(minute: Int64, user: String, model: String, provider: String, totals: UsageTotals)] {
        // A query may come from a peer: bound it before computing with it.
        let start = max(0, start), end = min(end, EventPosition.timeMax)
        guard end > start else { return [] }
        let decoder = JSONDecoder()
        let range = KeyRange(lower: UsageRollup.key(minute: UsageRollup.minute(of: start)), upper: UsageRollup.key(minute: UsageRollup.minute(of: end - 1) + 60_000))
        return try database.scan(StorageLayout.usageRollups, in: range).compactMap { entry in
            guard let key = UsageRollup.parse(entry.key), let totals = try? decoder.decode(UsageTotals.self, from: Data(entry.value)) else { return nil }
            return (key.minute, key.user, key.model, key.provider, totals)
        }
    }

    /// This node's answer to a rollup query.
    func answer(_ query: RollupQuery) throws -> [RollupGroup] {
        RollupGroup.group(try rollups(from: query.from, to: query.to), by: query)
    }

    /// Events read at most for one page: a filter that matches rarely stops there, with
    /// what it found (the next page goes on from the last event returned).
    static let eventsScannedMax = 500_000

    /// This node's answer to an event query: its first `query.limit` matching events in
    /// the query's order.
    func answer(_ query: EventQuery) throws -> [StoredUsageEvent] {
        guard query.limit > 0, query.to > query.from else { return [] }
        var lower = query.from
        var upper = query.to
        if let after = query.after {
            if query.order == .oldestFirst { lower = max(lower, after.time) } else { upper = min(upper, after.time < .max ? after.time + 1 : after.time) }
        }
        guard lower < upper else { return [] }
        let range = KeyRange(lower: Self.key(time: lower, sequence: 0), upper: Self.key(time: upper, sequence: 0))
        var found: [StoredUsageEvent] = []
        var scanned = 0
        try database.forEach(StorageLayout.usageEvents, in: range, reverse: query.order == .newestFirst) { key, value in
            scanned += 1
            guard let parsed = Self.parse(key), let event = UsageEventCodec.decode(value) else { return scanned < Self.eventsScannedMax }
            let stored = StoredUsageEvent(node: nodeID, sequence: parsed.sequence, event: event)
            if query.matches(event, at: stored.position) { found.append(stored) }
            // A query may come from a peer: its limit is held to the API's own.
            return found.count < min(query.limit, EventQuery.limitMax) && scanned < Self.eventsScannedMax
        }
        return found
    }

    /// Flushes every `flushInterval` until cancelled, then once more.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.flushInterval)
            do { try flush() } catch { logger.error("could not write usage events", metadata: ["error": "\(error)"]) }
        }
        do { try flush() } catch {
            logger.error("could not write usage events at shutdown; they are lost", metadata: ["events": "\(buffered)", "error": "\(error)"])
        }
    }

    /// The events stored, in time order (tests).
    func stored(limit: Int = .max) throws -> [UsageEvent] {
        return try database.scan(StorageLayout.usageEvents, limit: limit).compactMap { UsageEventCodec.decode($0.value) }
    }

    static func key(time: Int64, sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: time).bigEndian, Array.init) + withUnsafeBytes(of: sequence.bigEndian, Array.init)
    }

    static func parse(_ key: [UInt8]) -> (time: Int64, sequence: UInt64)? {
        guard key.count == 16 else { return nil }
        let time = key[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let sequence = key[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (Int64(bitPattern: time), sequence)
    }
}
