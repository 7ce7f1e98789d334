import Foundation
import Gateway
import Logging
import Storage
import Testing
@testable import Node

/// Usage events are buffered off the request path and written in time order.
@Suite struct UsageRecorderTests {
    private func event(_ time: Int64, _ model: String, user: String = "user:u", status: Int = 200, cached: Bool = false) -> UsageEvent {
        UsageEvent(
            time: time, endpoint: "chat.completions", token: "tok_1", principal: "agent:a", user: user, app: nil, organization: nil,
            requestedModel: model, model: model, provider: "openai", credential: "key:openai:a", deployment: "d", inputTokens: 3, outputTokens: 4,
            microUSD: 5, unpriced: false, status: status, errorCode: nil, stream: false, latencyMicroseconds: 1000, attempts: 1, redactions: 0, cached: cached)
    }

    private func withDatabase(_ body: (Database) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        defer { database.close() }
        try body(database)
    }

    @Test func eventsAreSummedPerMinuteUserAndModel() throws {
        try withDatabase { database in
            let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-test"), clock: { 1_800_000_000_000 })
            let minute: Int64 = 1_799_999_940_000
            recorder.record(event(minute + 1_000, "m"))
            recorder.record(event(minute + 59_999, "m", status: 429))
            recorder.record(event(minute + 60_000, "m", cached: true))
            recorder.record(event(minute + 2_000, "m", user: "user:v"))
            try recorder.flush()
            recorder.record(event(minute + 3_000, "m"))
            try recorder.flush()
            let sums = try recorder.rollups(from: minute, to: minute + 120_000)
            let first = sums.first { $0.minute == minute && $0.user == "user:u" }?.totals
            var expected = UsageTotals()
            (expected.requests, expected.inputTokens, expected.outputTokens, expected.microUSD, expected.errors) = (3, 9, 12, 15, 1)
            #expect(first == expected, "added across flushes")
            #expect(sums.first { $0.minute == minute && $0.user == "user:v" }?.totals.requests == 1)
            #expect(sums.first { $0.minute == minute + 60_000 }?.totals.cacheHits == 1)
            #expect(try recorder.rollups(from: minute + 60_000, to: minute + 120_000).count == 1, "ranges are by minute")
        }
    }

    @Test func aFailedWriteKeepsTheEventsForTheNextFlush() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-test"), clock: { 1_800_000_000_000 })
        recorder.record(event(1_799_999_990_000, "a"))
        recorder.record(event(1_799_999_991_000, "b"))
        database.close()  // every read and write fails from here, as on a failed disk
        #expect(throws: (any Error).self) { try recorder.flush() }
        #expect(recorder.buffered == 2, "the batch went back to the buffer")
        recorder.record(event(1_799_999_992_000, "c"))
        #expect(throws: (any Error).self) { try recorder.flush() }
        #expect(recorder.buffered == 3, "nothing is lost while the disk fails, within the buffer's bound")
    }

    @Test func oldEventsAndSumsArePrunedHourly() throws {
        try withDatabase { database in
            let now = ManagedAtomicClock(1_800_000_000_000)
            let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-test"), retentionDays: 30, rollupRetentionDays: 60, clock: { now.value })
            let day: Int64 = 86_400_000
            recorder.record(event(now.value - 40 * day, "old"))
            recorder.record(event(now.value - 70 * day, "older"))
            recorder.record(event(now.value, "new"))
            try recorder.flush()
            now.value += UsageRecorder.pruneInterval
            try recorder.flush()
            #expect(try recorder.stored().map(\.requestedModel) == ["new"], "events past 30 days are gone")
            let sums = try recorder.rollups(from: now.value - 100 * day, to: now.value + day).map(\.model)
            #expect(sums.sorted() == ["new", "old"], "sums are kept 60 days")
        }
    }

    @Test func bufferedEventsAreWrittenInTimeOrderAndReadBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-test"))
        func event(_ time: Int64, _ model: String) -> UsageEvent {
            UsageEvent(
                time: time, endpoint: "chat.completions", token: "tok_1", principal: "agent:a", user: "user:u", app: nil, organization: nil,
                requestedModel: model, model: model, provider: "openai", credential: "key:openai:a", deployment: "d", inputTokens: 3, outputTokens: 4,
                microUSD: 5, unpriced: false, status: 200, errorCode: nil, stream: false, latencyMicroseconds: 1000, attempts: 1, redactions: 0)
        }
        recorder.record(event(2_000, "b"))
        recorder.record(event(1_000, "a"))
        #expect(try recorder.stored().isEmpty, "nothing is written on the request path")
        #expect(try recorder.flush() == 2)
        recorder.record(event(1_000, "c"))
        #expect(try recorder.flush() == 1)
        #expect(try recorder.flush() == 0)
        #expect(try recorder.stored().map(\.requestedModel) == ["a", "c", "b"], "time order, then arrival")
        #expect(try recorder.stored().first == event(1_000, "a"))
    }
}

/// A clock a test moves by hand.
final class ManagedAtomicClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64
    init(_ start: Int64) { current = start }
    var value: Int64 {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
}
