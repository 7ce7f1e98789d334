import Foundation
import HTTPTypes
import MockLLM
import NIOCore
@testable import Policy
import QuotaCRDT
import SeededRandom
import MetricsTestKit
import Testing
@testable import Gateway

/// Values from outside that once crashed a node, or could have: each is a clear 400 in
/// the endpoint's dialect, or is bounded, and the node goes on serving.
@Suite(.serialized) struct HostileRequestTests {
    private func standard(_ h: DataPlaneHarness, _ mock: RunningMock) async throws {
        try await h.addCaller()
        try await h.addCredential("key:mock:main", baseURL: mock.baseURL)
        try await h.apply([
            h.deployment("mini", model: "gpt-4o-mini", credential: "key:mock:main"),
            h.deployment("embed", model: "text-embedding-3-small", credential: "key:mock:main"),
            // The most a price may be: a cost computed in 64 bits overflows at once.
            h.price(model: "gpt-4o-mini", inputPer1kNano: PolicyState.capMax, outputPer1kNano: PolicyState.capMax),
            h.price(model: "text-embedding-3-small", inputPer1kNano: 20_000, outputPer1kNano: 0),
        ])
    }

    private static func chat(_ extra: String) -> String {
        #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]\#(extra)}"#
    }

    @Test func outOfRangeNumbersAreA400NamingTheFieldAndTheLimit() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let cases: [(path: String, body: String, param: String)] = [
                    ("/v1/chat/completions", Self.chat(#","max_tokens":9223372036854775807"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":-1"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":1e300"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":18446744073709551616"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":2.5"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":true"#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_tokens":"100""#), "max_tokens"),
                    ("/v1/chat/completions", Self.chat(#","max_completion_tokens":1000001"#), "max_completion_tokens"),
                    ("/v1/chat/completions", Self.chat(#","n":1099511627776"#), "n"),
                    ("/v1/chat/completions", Self.chat(#","n":0"#), "n"),
                    ("/v1/chat/completions", Self.chat(#","stream":"yes""#), "stream"),
                    ("/v1/chat/completions", #"{"model":12,"messages":[]}"#, "model"),
                    ("/v1/chat/completions", #"{"model":"\#(String(repeating: "m", count: 257))","messages":[]}"#, "model"),
                    ("/v1/embeddings", #"{"model":"text-embedding-3-small","input":"hi","dimensions":-5}"#, "dimensions"),
                    ("/v1/embeddings", #"{"model":"text-embedding-3-small","input":"hi","dimensions":9223372036854775807}"#, "dimensions"),
                ]
                for item in cases {
                    let answer = try await api.call(.post, item.path, token: DataPlaneHarness.callerSecret, body: item.body)
                    let error = answer.object["error"] as? [String: Any]
                    #expect(answer.status == .badRequest, "\(item.body.prefix(120)): \(answer.status) \(answer.text.prefix(300))")
                    #expect(error?["param"] as? String == item.param, "\(item.body.prefix(120)): \(answer.text.prefix(300))")
                }
                let anthropic = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                                   body: #"{"model":"gpt-4o-mini","max_tokens":9223372036854775807,"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(anthropic.status == .badRequest && anthropic.object["type"] as? String == "error", "Anthropic's dialect: \(anthropic.text)")
                #expect(((anthropic.object["error"] as? [String: Any])?["message"] as? String)?.contains("outputTokensMax") == true)
                // The largest values accepted are served, with a price at its maximum.
                let largest = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                                 body: Self.chat(#","max_tokens":1000000,"n":128"#))
                #expect(largest.status == .ok, "\(largest.text.prefix(300))")
            }
            #expect(h.gate.settledUsages.allSatisfy { $0.isNonNegative && $0.microUSD <= PolicyState.capMax }, "\(h.gate.settledUsages)")
        }
    }

    @Test func aProvidersNegativeOrHugeTokenCountsFallBackToTheEstimate() async throws {
        for reported in [-5, 1 << 62] {
            let h = try await DataPlaneHarness()
            try await RunningMock.with({ $0.promptTokens = reported }) { mock in
                try await standard(h, mock)
                try await h.apply([h.price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000)])
                try await h.run { api async throws in
                    for body in [Self.chat(""), Self.chat(#","stream":true,"stream_options":{"include_usage":true}"#)] {
                        let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                        #expect(answer.status == .ok, "\(reported): \(answer.text.prefix(300))")
                    }
                    let anthropic = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                                       body: #"{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"#)
                    #expect(anthropic.status == .ok, "\(reported): \(anthropic.text.prefix(300))")
                }
                let inputs = h.usage.recorded.map(\.inputTokens)
                #expect(inputs.count == 3 && inputs.allSatisfy { $0 >= 1 && $0 <= ReportedTokens.countMax }, "reported \(reported), recorded \(inputs)")
                let settled = h.gate.settledUsages
                #expect(settled.allSatisfy { $0.isNonNegative })
            }
        }
    }

    /// JSONSerialization traps (it does not throw) on a top-level value that is no array
    /// or object: an Anthropic `tool_use.input` of 1, translated for an OpenAI provider,
    /// once killed the node.
    @Test func anyJSONValueWhereAnObjectBelongsIsTranslatedOrRefused() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([h.price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000)])
            try await h.run { api async throws in
                for input in ["1", "\"text\"", "null", "[1,2]", "true", "1e308"] {
                    let body = #"{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":\#(input)}]},{"role":"user","content":"go on"}]}"#
                    let answer = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret, body: body)
                    #expect(answer.status == .ok || answer.status == .badRequest, "input \(input): \(answer.status) \(answer.text.prefix(200))")
                }
            }
        }
    }

    /// A provider's server error is the gateway's bad gateway, never a 500 of the node's own.
    @Test func aProvidersServerErrorIsABadGateway() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.faults = [Fault(kind: .status, status: 500)] }) { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat(""))
                #expect(answer.status == .badGateway, "\(answer.status) \(answer.text.prefix(200))")
            }
        }
    }

    @Test func costArithmeticCannotOverflow() {
        let price = Price(inputNanoUSDPer1k: PolicyState.capMax, outputNanoUSDPer1k: PolicyState.capMax, cachedInputNanoUSDPer1k: 0, revision: 1, scope: .model)
        #expect(Metering.microUSD(price, input: Int.max, output: Int.max) == PolicyState.capMax)
        #expect(Metering.usage(price, input: -7, output: Int.max).tokens == Int64(Metering.tokensMax))
        #expect(Metering.microUSD(price, input: 1, output: 0) == PolicyState.capMax / 1_000_000)
        let numbers = RequestNumbers(model: "m", outputTokens: RequestNumbers.outputTokensMax, choices: RequestNumbers.choicesMax, stream: false)
        #expect(TokenEstimate.output(numbers, deployment: nil) == RequestNumbers.outputTokensMax * RequestNumbers.choicesMax)
        #expect(Usage(tokens: .max) + Usage(tokens: 1) == Usage(tokens: .max), "quota sums saturate")
        #expect(Usage(tokens: .min) - Usage(tokens: 1) == Usage(tokens: .min))
    }

    @Test func jsonNumbersAreReadExactlyOrNotAtAll() throws {
        func value(_ text: String) throws -> Any { try #require((try JSONSerialization.jsonObject(with: Data(#"{"v":\#(text)}"#.utf8)) as? [String: Any])?["v"]) }
        let whole = try value("42"), point = try value("3.0"), yes = try value("true"), one = try value("1")
        #expect(JSONField.integer(whole) == 42)
        #expect(JSONField.integer(point) == 3)
        for text in ["true", "false", "1.5", "1e300", "9223372036854775808", "18446744073709551616", "\"7\"", "[1]"] {
            let read = try value(text)
            #expect(JSONField.integer(read) == nil, "\(text)")
        }
        #expect(JSONField.boolean(yes) == true && JSONField.boolean(one) == nil)
        #expect(ReportedTokens.read(["prompt_tokens": -1]) == nil)
        #expect(ReportedTokens.read(["prompt_tokens": -1], "prompt_tokens") == nil)
        #expect(ReportedTokens.read(["input_tokens": 12], "prompt_tokens", "input_tokens") == 12)
    }

    @Test func storedClientStringsAreCutInBytesOnAScalarBoundary() {
        let marks = "a" + String(repeating: "\u{301}", count: 10_000)  // one character, 20,001 bytes
        #expect(marks.count == 1 && marks.prefix(bytes: 256).utf8.count <= 256)
        let family = String(repeating: "👨‍👩‍👧‍👦", count: 60)
        let cut = family.prefix(bytes: 30)
        #expect(cut.utf8.count <= 30 && family.utf8.starts(with: cut.utf8), "cut between scalars, never inside one")
        #expect("short".prefix(bytes: 256) == "short")
    }

    @Test func passThroughModelsShareOneMetricsLabel() {
        let event = UsageEvent(
            time: 0, endpoint: "chat.completions", token: "t", principal: "p", user: nil, app: nil, organization: nil, requestedModel: "ollama/x1",
            model: "ollama/x1", provider: "ollama", credential: nil, deployment: nil, inputTokens: 1, outputTokens: 1, microUSD: 0, unpriced: false,
            status: 200, errorCode: nil, stream: false, latencyMicroseconds: 1, attempts: 1, redactions: 0, cached: false, dlp: nil,
            errorMessage: nil, userAgent: nil, requestBytes: 1)
        #expect(DataPlaneMetrics.label(model: event) == "other")
        var configured = event
        configured.model = "gpt-4o"
        configured.deployment = "d1"
        #expect(DataPlaneMetrics.label(model: configured) == "gpt-4o")
    }

    @Test func consoleCellsShowAnyStoredTimeWithoutTrapping() {
        #expect(ConsoleFormat.cell("expires_at", 1e300) == ConsoleFormat.plain(1e300))
        #expect(ConsoleFormat.cell("expires_at", Double.infinity).isEmpty == false)
        #expect(ConsoleFormat.cell("expires_at", Int.max).isEmpty == false)
        #expect(ConsoleFormat.cell("expires_at", 1_800_000_000_000).hasPrefix("2027-"))
    }

    @Test func cursorsAndPeriodsOutsideTheCalendarAreRefused() throws {
        #expect(EventPosition(cursor: "9223372036854775807.1.1") == nil)
        #expect(EventPosition(cursor: "-9223372036854775808.0.0") == nil)
        #expect(EventPosition(cursor: "1800000000000.1.1") != nil)
        #expect(throws: AdminError.self) { try UsagePeriod.parse(from: nil, to: Int64.min, period: "24h", now: 0) }
        #expect(throws: AdminError.self) { try UsagePeriod.parse(from: Int64.min, to: nil, period: nil, now: 1_800_000_000_000) }
        #expect(throws: AdminError.self) { try UsagePeriod.parse(from: nil, to: Int64.max, period: nil, now: 0) }
        #expect(try UsagePeriod.parse(from: nil, to: nil, period: "24h", now: 1_800_000_000_000).from == 1_800_000_000_000 - 86_400_000)
    }
}

/// A streamed answer whose client left before its head was written never runs its body:
/// the reservation must still end, once.
@Suite struct AbandonedReservationTests {
    private func settlement(_ gate: LedgerGate, sink: CollectingSink) async throws -> Settlement {
        guard case let .success(id) = await gate.reserve(Usage(requests: 1, tokens: 10), against: []) else { throw CancellationError() }
        let usage = UsageContext.fixture(sink, stream: true)
        let attempt = Attempt(model: "m", deployment: nil, credential: nil, provider: .openAICompatible, upstreamModel: "m", triggers: [])
        return Settlement(
            quota: gate, reservation: id, price: nil, promptEstimate: 1, deployment: "d", latency: 1, usage: usage,
            attempt: attempt, attempts: 1, unpriced: false)
    }

    @Test func aDroppedBodyCancelsItsReservation() async throws {
        let gate = LedgerGate(clock: { 0 }), sink = CollectingSink()
        var fallback: AbandonedReservation? = AbandonedReservation(try await settlement(gate, sink: sink), stats: DeploymentStats())
        #expect(fallback != nil && gate.cancelCount == 0)
        fallback = nil
        #expect(gate.cancelCount == 1, "dropping the unsent body ends the reservation")
        #expect(sink.recorded.map(\.status) == [Settlement.clientClosedStatus])
    }

    @Test func aSettledReservationIsNotCancelledAgain() async throws {
        let gate = LedgerGate(clock: { 0 }), sink = CollectingSink()
        let settlement = try await settlement(gate, sink: sink)
        var fallback: AbandonedReservation? = AbandonedReservation(settlement, stats: DeploymentStats())
        settlement.settle(input: 1, output: 1)
        fallback = nil
        #expect(fallback == nil && gate.cancelCount == 0 && gate.settledUsages.count == 1 && sink.recorded.count == 1)
    }
}

/// The cluster routes' signature header is read before it is authenticated: no value in it
/// may trap (a `t` of Int64.min once overflowed `now - t` and crashed the node, unsigned).
@Suite struct ClusterSignatureHostileTests {
    @Test func extremeTimestampsAreRefusedNotTrapped() {
        let signature = ClusterSignature(secret: Array("a-cluster-secret-of-16+".utf8))
        let mac = String(repeating: "ab", count: 32)
        for t in ["-9223372036854775808", "9223372036854775807", "-1", "0", "99999999999999999999", "１２"] {
            let refusal = signature.verify("t=\(t),mac=\(mac)", method: "GET", path: "/cluster/v1/status", body: [])
            #expect(refusal == .expired || refusal == .malformed, "t=\(t): \(String(describing: refusal))")
        }
        let now = Int64(Date().timeIntervalSince1970)
        #expect(signature.verify("t=\(now),mac=\(mac)", method: "GET", path: "/", body: []) == .invalid, "a fresh time reaches the MAC check")
        #expect(signature.verify("t=\(now),mac=\(String(repeating: "é", count: 64))", method: "GET", path: "/", body: []) == .malformed)
        let good = signature.sign(method: "GET", path: "/p", body: [])
        #expect(signature.verify(good, method: "GET", path: "/p", body: []) == nil)
    }
}

/// `profiles.yaml` imports: Yams' constructor trapped on a non-scalar key and overflowed on
/// base-60 integers, and nested aliases expand exponentially.
@Suite struct ProfileYAMLHostileTests {
    @Test func hostileYAMLIsRefusedOrReadNeverTrapped() throws {
        #expect(throws: AdminError.self) { try ProfileYAML.parse("{[a]: b}") }
        #expect(throws: AdminError.self) { try ProfileYAML.parse("roles: {[a]: b}") }
        #expect(throws: AdminError.self) { try ProfileYAML.parse("roles:\n  r1: {normal: [1, 2]}") }
        let sexagesimal = try ProfileYAML.parse("roles:\n  r1:\n    normal: 1:0:0:0:0:0:0:0:0:0:0\n")
        #expect(sexagesimal.first?.models[.normal] == "1:0:0:0:0:0:0:0:0:0:0", "read as the text it is")
        var bomb = "a0: &a0 {normal: x}\n"
        for level in 1...30 { bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",") + "]\n" }
        bomb += "roles:\n  r1: *a30\n"
        #expect(throws: AdminError.self) { try ProfileYAML.parse(bomb) }
        var laughs = #"a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]"# + "\n"
        for level in 1...7 { laughs += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",") + "]\n" }
        let started = ContinuousClock.now
        #expect(throws: AdminError.self) { try ProfileYAML.parse(laughs) }
        #expect(ContinuousClock.now - started < .seconds(30), "a bound, not a speed test: 10^8 nodes expanded take hours")
        var wide = "roles:\n  r0: &r {normal: x}\n"
        for index in 1...(ProfileYAML.yamlNodesMax / 2) { wide += "  r\(index): *r\n" }
        #expect(throws: AdminError.self) { try ProfileYAML.parse(wide) }
        #expect(try ProfileYAML.parse("roles:\n  coder: {normal: gpt-4o-mini, heavy: gpt-4o}\nagents:\n  agent:bot: {role: coder}\n").count == 2)
    }
}

/// Usage sums arrive from every node's answer and from disk: no sum of them may trap.
@Suite struct UsageTotalsHostileTests {
    @Test func sumsFromPeersAreBoundedAndAddWithoutOverflow() throws {
        let peer = #"{"requests":9223372036854775807,"inputTokens":-5,"microUSD":9223372036854775807,"errors":1}"#
        var total = try JSONDecoder().decode(UsageTotals.self, from: Data(peer.utf8))
        #expect(total.requests == UsageTotals.valueMax && total.inputTokens == 0 && total.microUSD == Int64(UsageTotals.valueMax))
        for _ in 0..<2_000 { total.add(total) }
        #expect(total.requests == Int.max, "saturates")
        let chart = ConsoleChart.minuteBars([["requests": Int.max, "errors": Int.max], ["requests": 1, "errors": -3]])
        #expect(chart.contains("<svg"))
    }
}

/// A join answer arrives over HTTP: it is checked before Raft's preconditions see it.
@Suite struct JoinAnswerHostileTests {
    @Test func aMembershipANodeCannotStartFromIsRefused() {
        let good = ClusterMembership(voters: [1, 2, 3], learners: [4], addresses: ["1": "tcp://127.0.0.1:7001", "4": "tcp://127.0.0.1:7004"])
        #expect(good.problem(joining: 4) == nil)
        #expect(good.problem(joining: 5) != nil, "the joiner is not in it")
        #expect(ClusterMembership(voters: [1, 2], learners: [2], addresses: [:]).problem(joining: 2) != nil, "voters and learners overlap")
        #expect(ClusterMembership(voters: [0, 2], learners: [], addresses: [:]).problem(joining: 2) != nil, "node 0")
        #expect(ClusterMembership(voters: [], learners: [2], addresses: [:]).problem(joining: 2) != nil, "no voters")
        #expect(ClusterMembership(voters: [1], learners: [2], addresses: ["0": "tcp://x:1"]).problem(joining: 2) != nil)
        #expect(ClusterMembership(voters: [1], learners: [2], addresses: ["1": "http://x"]).problem(joining: 2) != nil)
        #expect(ClusterMembership(voters: Array(1...100), learners: [], addresses: [:]).problem(joining: 2) != nil)
    }
}

/// A hostile provider's stream: events cut anywhere, and one huge event in small pieces,
/// which the splitter once rescanned on every piece.
@Suite struct SSESplitterHostileTests {
    @Test(arguments: UInt64(1)...20) func eventsAreTheSameHoweverTheStreamIsCut(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var stream: [UInt8] = []
        for n in 0..<30 {
            let separator = Bool.random(using: &random) ? "\n\n" : "\r\n\r\n"
            stream += Array("event: e\(n)\ndata: {\"n\":\(n),\"pad\":\"\(String(repeating: "x", count: Int.random(in: 0...300, using: &random)))\"}\(separator)".utf8)
        }
        var whole = SSESplitter()
        let expected = whole.feed(ByteBuffer(bytes: stream)).map(\.data)
        var cut = SSESplitter(), got: [String] = []
        var index = 0
        while index < stream.count {
            let length = Int.random(in: 1...64, using: &random)
            got += cut.feed(ByteBuffer(bytes: stream[index..<min(stream.count, index + length)])).map(\.data)
            index += length
        }
        got += cut.finish().map(\.data)
        #expect(expected.count == 30 && got == expected, "seed \(seed)")
    }

    @Test func aHugeEventInSmallPiecesIsOneEvent() {
        var splitter = SSESplitter()
        let piece = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: 1_000))
        var events = splitter.feed(ByteBuffer(string: "data: "))
        for _ in 0..<900 { events += splitter.feed(piece) }
        events += splitter.feed(ByteBuffer(string: "\n\n"))
        #expect(events.count == 1 && events.first?.data.utf8.count == 900_000)
    }
}
