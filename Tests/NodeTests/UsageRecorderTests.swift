import Foundation
import Gateway
import Logging
import Storage
import Testing
@testable import Node

/// Usage events are buffered off the request path and written in time order.
@Suite struct UsageRecorderTests {
    @Test func bufferedEventsAreWrittenInTimeOrderAndReadBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-usage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let recorder = UsageRecorder(database: database, logger: Logger(label: "usage-test"))
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
