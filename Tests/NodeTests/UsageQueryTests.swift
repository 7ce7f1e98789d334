import Foundation
import Gateway
import Logging
import SeededRandom
import Storage
import Testing
@testable import Node

/// What each node answers a usage query with, merged as `UsageQueryService` merges it: the
/// cluster's answer must be the answer of one node holding every event.
@Suite struct UsageQueryTests {
    private static let users = ["user:a", "user:b", "user:c"]
    private static let start: Int64 = 1_800_000_000_000

    /// Three nodes' recorders on fresh databases, removed after `body`.
    private func withNodes(_ body: ([UsageRecorder]) throws -> Void) throws {
        let paths = (1...3).map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-q-\(UUID().uuidString)").path }
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        let databases = try paths.map { try Database(path: $0, columnFamilies: StorageLayout.all) }
        defer { for database in databases { database.close() } }
        try body(try databases.enumerated().map { try UsageRecorder(database: $1, nodeID: UInt64($0 + 1), logger: Logger(label: "usage-q")) })
    }

    private static func event(_ random: inout SplitMix64) -> UsageEvent {
        let user = users.randomElement(using: &random)!
        let status = Int.random(in: 0..<5, using: &random) == 0 ? 429 : 200
        let redacted = Bool.random(using: &random)
        return UsageEvent(
            time: start + Int64.random(in: 0..<(3 * 86_400_000), using: &random) / 1_000_000 * 1_000_000,  // coarse: many equal times
            endpoint: "chat.completions", token: "tok_\(user.suffix(1))", principal: "human:x", user: user, app: nil, organization: nil,
            requestedModel: "m", model: "m", provider: "openai", credential: nil, deployment: nil, inputTokens: Int.random(in: 1...100, using: &random),
            outputTokens: 5, microUSD: Int64.random(in: 0...1000, using: &random), unpriced: false, status: status, errorCode: status == 200 ? nil : "quota_exceeded",
            stream: false, latencyMicroseconds: 10, attempts: 1, redactions: redacted ? 2 : 0,
            dlp: redacted ? DLPOutcome(action: .redact, policy: "dlp:p", scope: "org:o", matches: ["EMAIL": 2]) : nil)
    }

    @Test func pagesOfThreeNodesHoldEveryMatchingEventOnceInOrder() throws {
        for seed in UInt64(1)...12 {
            var random = SplitMix64(seed: seed)
            var failed = false
            try withNodes { nodes in
                var all: [StoredUsageEvent] = []
                for node in nodes {
                    // Events arrive in two flushes, the second partly older than the first.
                    for _ in 0..<2 {
                        for _ in 0..<Int.random(in: 0...40, using: &random) { node.record(Self.event(&random)) }
                        try node.flush()
                    }
                    all += try node.answer(EventQuery(from: 0, to: .max, order: .oldestFirst, limit: EventQuery.limitMax))
                }
                let order: EventQuery.Order = Bool.random(using: &random) ? .newestFirst : .oldestFirst
                let kind: EventQuery.Kind = [.all, .errors, .dlp].randomElement(using: &random)!
                let user = Bool.random(using: &random) ? Self.users.randomElement(using: &random) : nil
                let from = Self.start + Int64.random(in: 0...86_400_000, using: &random)
                let to = from + Int64.random(in: 1...(2 * 86_400_000), using: &random)
                let limit = Int.random(in: 1...7, using: &random)
                var query = EventQuery(from: from, to: to, order: order, limit: limit, kind: kind, user: user)
                let expected = all.filter { query.matches($0.event, at: $0.position) }
                    .sorted { order == .oldestFirst ? $0.position < $1.position : $1.position < $0.position }
                var paged: [StoredUsageEvent] = []
                while true {
                    let page = StoredUsageEvent.merge(try nodes.map { try $0.answer(query) }, order: order, limit: limit)
                    paged += page
                    guard page.count == limit, let last = page.last, paged.count <= all.count else { break }
                    query.after = last.position
                }
                #expect(paged == expected, "seed \(seed): \(paged.count) events paged, \(expected.count) expected (order \(order), kind \(kind), limit \(limit))")
                failed = paged != expected
            }
            if failed { break }
        }
    }

    @Test func mergedRollupsAreTheSumsOfEveryNodesEvents() throws {
        var random = SplitMix64(seed: 99)
        try withNodes { nodes in
            var events: [UsageEvent] = []
            for node in nodes {
                for _ in 0..<60 {
                    let event = Self.event(&random)
                    events.append(event)
                    node.record(event)
                }
                try node.flush()
            }
            let query = RollupQuery(from: Self.start, to: Self.start + 3 * 86_400_000, bucket: .day, byUser: true)
            let merged = RollupGroup.merge(try nodes.map { try $0.answer(query) })
            var expected: [String: UsageTotals] = [:]
            for event in events { expected["\(UsageBucket.day.start(of: event.time)) \(event.user!)", default: UsageTotals()].add(event) }
            #expect(merged.count == expected.count)
            for group in merged { #expect(group.totals == expected["\(group.time) \(group.user!)"], "day \(group.time) of \(group.user!)") }
            #expect(merged.map(\.totals.redactions).reduce(0, +) == events.map(\.redactions).reduce(0, +))
        }
    }

    @Test func sequenceNumbersGoOnAfterARestart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-seq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var random = SplitMix64(seed: 5)
        var event = Self.event(&random)
        event.time = Self.start
        for _ in 0..<2 {
            let database = try Database(path: path, columnFamilies: StorageLayout.all)
            let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-q"))
            recorder.record(event)
            recorder.record(event)
            try recorder.flush()
            database.close()
        }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let stored = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "usage-q")).answer(EventQuery(from: 0, to: .max, limit: 10))
        #expect(stored.count == 4, "an event at the same ms after a restart does not overwrite one before it")
        #expect(Set(stored.map(\.requestID)).count == 4)
    }
}

/// The stored form of usage events.
@Suite struct UsageEventCodecTests {
    @Test func everyEventReadsBackAsItWasAndCorruptOnesAreRefused() throws {
        for seed in UInt64(1)...300 {
            var random = SplitMix64(seed: seed)
            func text() -> String { String((0..<Int.random(in: 0...12, using: &random)).map { _ in "aZ09-é✓:[_ ".randomElement(using: &random)! }) }
            func maybe() -> String? { Bool.random(using: &random) ? text() : nil }
            let dlp: DLPOutcome? = Bool.random(using: &random) ? nil : DLPOutcome(
                action: [.redact, .block, .bypass].randomElement(using: &random)!, policy: text(), scope: text(),
                matches: Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0...3, using: &random)).map { ("L\($0)", Int.random(in: 1...9, using: &random)) }),
                reason: maybe())
            let event = UsageEvent(
                time: Int64.random(in: -5...Int64.max / 2, using: &random), endpoint: text(), token: text(), principal: text(), user: maybe(), app: maybe(),
                organization: maybe(), requestedModel: text(), model: maybe(), provider: maybe(), credential: maybe(), deployment: maybe(),
                inputTokens: Int.random(in: 0...1_000_000, using: &random), outputTokens: Int.random(in: 0...1_000_000, using: &random),
                microUSD: Int64.random(in: 0...Int64.max / 4, using: &random), unpriced: Bool.random(using: &random), status: Int.random(in: 100...599, using: &random),
                errorCode: maybe(), stream: Bool.random(using: &random), latencyMicroseconds: Int64.random(in: 0...9_999_999, using: &random),
                attempts: Int.random(in: 0...5, using: &random), redactions: Int.random(in: 0...9, using: &random), cached: Bool.random(using: &random), dlp: dlp,
                errorMessage: maybe(), userAgent: maybe(), requestBytes: Bool.random(using: &random) ? Int.random(in: 0...4_000_000, using: &random) : nil)
            let bytes = UsageEventCodec.encode(event)
            #expect(UsageEventCodec.decode(bytes) == event, "seed \(seed)")
            let cut = Int.random(in: 0..<bytes.count, using: &random)
            #expect(UsageEventCodec.decode(Array(bytes.prefix(cut))) == nil, "seed \(seed): a record cut at \(cut) of \(bytes.count) is refused")
            if UsageEventCodec.decode(bytes) != event { break }
        }
    }

    @Test func eventsStoredAsJSONByEarlierVersionsAreStillRead() throws {
        let event = UsageEvent(
            time: 5, endpoint: "embeddings", token: "tok_1", principal: "agent:a", user: nil, app: nil, organization: nil, requestedModel: "m", model: "m",
            provider: "openai", credential: nil, deployment: nil, inputTokens: 1, outputTokens: 0, microUSD: 2, unpriced: false, status: 200, errorCode: nil,
            stream: false, latencyMicroseconds: 3, attempts: 1, redactions: 0)
        #expect(UsageEventCodec.decode(Array(try JSONEncoder().encode(event))) == event)
    }

    /// An event read from an earlier version's JSON record can hold values the gateway never
    /// writes (a negative byte count, a negative DLP count, a 100 KB field). Re-encoding it
    /// (compaction, replication) must neither trap nor write a record that cannot be read back.
    @Test func valuesNoCurrentWriterProducesAreStoredReadablyNotTrapped() throws {
        let long = String(repeating: "👨‍👩‍👧‍👦", count: 5_000) + "é"
        let event = UsageEvent(
            time: -1, endpoint: long, token: "tok_1", principal: "agent:a", user: nil, app: nil, organization: nil, requestedModel: long, model: nil,
            provider: nil, credential: nil, deployment: nil, inputTokens: -3, outputTokens: 0, microUSD: -2, unpriced: false, status: 200, errorCode: nil,
            stream: false, latencyMicroseconds: -3, attempts: 1, redactions: -1,
            dlp: DLPOutcome(action: .redact, policy: "p", scope: "s", matches: Dictionary(uniqueKeysWithValues: (0..<2_000).map { ("L\($0)", -$0) })),
            requestBytes: -7)
        let json = Array(try JSONEncoder().encode(event))
        let old = try #require(UsageEventCodec.decode(json), "an old JSON record reads")
        let again = try #require(UsageEventCodec.decode(UsageEventCodec.encode(old)), "its re-encoding reads back")
        #expect(again.requestBytes == 0, "a negative byte count is stored as 0")
        #expect(again.endpoint.utf8.count <= UsageEventCodec.stringBytesMax && long.unicodeScalars.starts(with: again.endpoint.unicodeScalars), "a long field is cut at a scalar boundary")
        #expect(again.requestedModel == again.endpoint)
        #expect(again.dlp?.matches.count == UsageEventCodec.dlpRulesMax, "at most dlpRulesMax rule counts are kept")
        #expect(again.dlp?.matches.values.allSatisfy { $0 == 0 } == true, "negative counts are stored as 0")
        #expect(again.inputTokens == -3 && again.microUSD == -2, "signed fields keep their value")
    }
}
