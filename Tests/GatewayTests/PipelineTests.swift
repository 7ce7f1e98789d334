import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MetricsTestKit
import MockLLM
import NIOCore
import Policy
import QuotaCRDT
import SeededRandom
import Synchronization
import Testing

@testable import Gateway

/// The attempt runner ends everything a stage took, exactly once and in reverse order,
/// however the attempt ends: moving on, failing the request, answering, or handing its
/// holds to a stream. Scripts of stage outcomes are drawn from seeds far apart; a failure
/// names its seed.
@Suite struct PipelineRunnerTests {
    static let seeds: [UInt64] = Array(1...400) + Array(7_000_000_001...7_000_000_200)

    enum Action: CaseIterable { case proceed, hold, next, holdThenNext, fail, holdThenFail, answer, holdThenAnswer, stream }

    /// What the releases saw: `(id, streaming)` in the order they were ended.
    final class Ends: Sendable {
        let log = Mutex<[(id: Int, streaming: Bool)]>([])
    }

    struct Taken: Release {
        let id: Int
        let ends: Ends
        func end(_ attempt: AttemptExchange) { ends.log.withLock { $0.append((id, attempt.streaming)) } }
    }

    /// Stage `index`: what `script[attempt][index]` says.
    struct Scripted: AttemptStage {
        let index: Int
        let script: [[Action]]
        let ends: Ends

        func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
            let action = script[attempt.number][index]
            let id = attempt.number * 100 + index
            if [.hold, .holdThenNext, .holdThenFail, .holdThenAnswer, .stream].contains(action) { attempt.hold(Taken(id: id, ends: ends)) }
            switch action {
            case .proceed, .hold: return .proceed
            case .next, .holdThenNext: return .next(.invalid("next \(id)"))
            case .fail, .holdThenFail: return .fail(.invalid("fail \(id)"))
            case .answer, .holdThenAnswer: return .answer(Response(status: .init(code: 200 + id % 100)))
            case .stream:
                attempt.streaming = true
                return .answer(Response(status: .init(code: 200 + id % 100)))
            }
        }
    }

    /// What the runner should do with `script`: the holds of each attempt run, and how the request ends.
    static func expected(_ script: [[Action]]) -> (holds: [[Int]], streamed: Set<Int>, end: String) {
        var holds: [[Int]] = [], streamed = Set<Int>(), last = "no attempt"
        for (number, stages) in script.enumerated() {
            var taken: [Int] = [], outcome: String?
            for (index, action) in stages.enumerated() {
                let id = number * 100 + index
                if [.hold, .holdThenNext, .holdThenFail, .holdThenAnswer, .stream].contains(action) { taken.append(id) }
                switch action {
                case .proceed, .hold: continue
                case .next, .holdThenNext: outcome = "next \(id)"
                case .fail, .holdThenFail: outcome = "fail \(id)"
                case .answer, .holdThenAnswer: outcome = "answer \(200 + id % 100)"
                case .stream:
                    streamed.insert(number)
                    outcome = "answer \(200 + id % 100)"
                }
                break
            }
            holds.append(taken)
            let end = outcome ?? "internal"
            if end.hasPrefix("fail") || end.hasPrefix("answer") { return (holds, streamed, end) }
            last = end.hasPrefix("next") ? end.replacingOccurrences(of: "next", with: "failed next") : "failed internal"
        }
        return (holds, streamed, last)
    }

    @Test func everythingTakenIsGivenBackOnceWhateverTheEnd() async throws {
        for seed in Self.seeds {
            var random = SplitMix64(seed: seed)
            let attempts = Int.random(in: 1...4, using: &random), stageCount = Int.random(in: 1...6, using: &random)
            let script = (0..<attempts).map { _ in (0..<stageCount).map { _ in Action.allCases.randomElement(using: &random)! } }
            let ends = Ends(), sink = CollectingSink()
            let stages = (0..<stageCount).map { Scripted(index: $0, script: script, ends: ends) as any AttemptStage }
            let pipeline = Pipeline(services: Self.services(sink), requestStages: [], attemptStages: stages)
            var outcome: String
            do {
                outcome = "answer \(try await pipeline.attempts(Self.exchange(attempts: attempts, sink: sink)).status.code)"
            } catch {
                outcome = error.code == "internal_error" ? "failed internal" : "failed \(error.message)"
                if error.message.hasPrefix("fail") { outcome = error.message }
            }
            let want = Self.expected(script)
            #expect(outcome == want.end, "seed \(seed): \(script)")
            let log = ends.log.withLock { $0 }
            #expect(log.map(\.id) == want.holds.flatMap { $0.reversed() }, "seed \(seed): every hold ended once, in reverse order, per attempt")
            for end in log { #expect(end.streaming == want.streamed.contains(end.id / 100), "seed \(seed): hold \(end.id)") }
            let failed = !outcome.hasPrefix("answer")
            #expect(sink.recorded.count == (failed ? 1 : 0), "seed \(seed): a failed request records one usage event")
        }
    }

    static func services(_ sink: CollectingSink) -> DataPlaneServices {
        DataPlaneServices(
            reader: MemoryPolicy(), quota: LedgerGate(clock: { 0 }), usageSink: sink, sealer: CredentialSealer(key: AdminHarness.sealingKey),
            client: .shared, clock: { 0 }, logger: Logger(label: "pipeline-test"), metrics: DataPlaneMetrics(factory: TestMetrics()),
            upstreamSlots: UpstreamSlots(UpstreamLimits()),
            limits: DataPlaneLimits(requestBytesMax: 1 << 20, responseBytesMax: 1 << 20, upstreamTimeout: .seconds(1), upstreamSmallBodyBytesMax: 1 << 10))
    }

    static func exchange(attempts: Int, sink: CollectingSink) -> Exchange {
        let usage = UsageContext.fixture(sink, stream: false)
        let caller = usage.caller
        let request = Request(head: HTTPRequest(method: .post, scheme: "http", authority: "weir", path: "/v1/chat/completions"), body: .init(buffer: ByteBuffer()))
        var exchange = Exchange(
            request: request, endpoint: .chat, state: PolicyState(), caller: caller, body: [:], raw: Array("{}".utf8),
            numbers: RequestNumbers(model: "m", outputTokens: nil, choices: 1, stream: false), usage: usage, model: "m", resolved: "m")
        exchange.attempts = (0..<attempts).map {
            Attempt(model: "m\($0)", deployment: nil, credential: nil, provider: .openAICompatible, upstreamModel: "m", triggers: [])
        }
        return exchange
    }
}

/// The real stages give back what they took: after answers, a fallback, a provider's
/// error, whole and streamed answers that break off, a stream and a quota's refusal, no
/// deployment counts a call in flight, no provider host a slot, every admitted reservation
/// ended once, and each request left the usage event it did before the stages were types.
@Suite struct PipelineReleaseTests {
    static let chat = #"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#
    static let stream = #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]}"#

    @Test func nothingIsLeftOpenOnAnyPath() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await h.apply([
                .putFallback(FallbackChain(id: "gpt-4o", chain: ["gpt-4o-mini"], triggers: [.providerError], created: .pending, updated: .pending)),
                .upsertQuota(QuotaRevision(
                    id: 0, lane: .token, subject: "tok_caller", name: "few", period: .tenSeconds, maxMicroUSD: nil, maxTokens: nil,
                    maxRequests: 5, rollover: false, revoked: false, stamp: .pending)),
            ])
            try await h.inspecting { api, services async throws in
                let secret = DataPlaneHarness.callerSecret
                func post(_ body: String) async throws -> Int? { try? await Int(api.call(.post, "/v1/chat/completions", token: secret, body: body).status.code) }
                #expect(try await post(Self.chat) == 200)
                mock.mock.inject(Fault(kind: .status, status: 500, count: 1, model: "upstream-4o"))
                #expect(try await post(Self.chat) == 200, "the fallback answered")
                mock.mock.inject(Fault(kind: .status, status: 400, count: 1, model: "upstream-4o"))
                #expect(try await post(Self.chat) == 400)
                #expect(try await post(Self.stream) == 200)
                mock.mock.inject(Fault(kind: .drop, count: 1, model: "upstream-4o"))
                #expect(try await post(Self.chat) == 502, "a whole answer that broke off")
                mock.mock.inject(Fault(kind: .drop, count: 1, model: "upstream-4o"))
                _ = try await post(Self.stream)
                #expect(try await post(Self.chat) == 429)
                let host = UpstreamSlots.host(of: mock.baseURL)
                let deadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < deadline, services.router.stats.inFlight(["gpt4o", "mini"]) != [0, 0] || services.upstreamSlots.count(host) != 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(services.router.stats.inFlight(["gpt4o", "mini"]) == [0, 0], "no call counted in flight")
                #expect(services.upstreamSlots.count(host) == 0, "no slot held")
                // Settled: the first, the fallback, the stream, the broken answer and the broken
                // stream (at their estimates; the cap of 5); cancelled: the 500 and the 400.
                #expect(h.gate.settledUsages.count == 5 && h.gate.cancelCount == 2, "settled \(h.gate.settledUsages.count), cancelled \(h.gate.cancelCount)")
                let events = h.usage.recorded.map { "\($0.status) \($0.errorCode ?? "-") \($0.attempts) \($0.model ?? "-")" }
                #expect(events == [
                    "200 - 1 gpt-4o", "200 - 2 gpt-4o-mini", "400 upstream_error 1 -", "200 - 1 gpt-4o", "502 upstream_broken 1 gpt-4o",
                    "200 stream_broken 1 gpt-4o", "429 quota_exceeded 1 -",
                ], "\(events)")
                #expect(h.usage.recorded.dropLast().allSatisfy { $0.latencyMicroseconds > 0 }, "every answered attempt has its latency")
            }
        }
    }
}
