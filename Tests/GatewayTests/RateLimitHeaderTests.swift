import Foundation
import HTTPTypes
import Policy
import QuotaCRDT
import Testing
@testable import Gateway

/// Every data-plane answer tells the tightest quota it met, in the caller's dialect
/// (docs/quotas.md, "Rate-limit headers").
@Suite struct RateLimitHeaderTests {
    static let chat = #"{"model":"smart","messages":[{"role":"user","content":"hello there"}]}"#
    static let messages = #"{"model":"smart","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}"#

    /// A burst of 3 requests per 10 s and a day of 100 requests and 100,000 tokens on ann.
    private func quotas(_ h: DataPlaneHarness) async throws {
        try await h.apply([
            .upsertQuota(QuotaRevision(id: 0, lane: .user, subject: "user:ann", name: "burst", period: .tenSeconds, maxMicroUSD: nil, maxTokens: nil,
                                       maxRequests: 3, rollover: false, revoked: false, stamp: .pending)),
            .upsertQuota(QuotaRevision(id: 0, lane: .user, subject: "user:ann", name: "day", period: .day, maxMicroUSD: nil, maxTokens: 100_000,
                                       maxRequests: 100, rollover: false, revoked: false, stamp: .pending)),
        ])
    }

    @Test func openAIHeadersCountDownToTheRefusal() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await quotas(h)
            try await h.run { api async throws in
                var tokensLeft: [Int] = []
                for left in [2, 1, 0] {
                    let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                    #expect(answer.status == .ok, "\(answer.text)")
                    // The clock stands at a multiple of 10 s: the burst resets in exactly 10 s.
                    #expect(answer.headers[name("x-ratelimit-limit-requests")] == "3")
                    #expect(answer.headers[name("x-ratelimit-remaining-requests")] == String(left), "the burst binds, not the day")
                    #expect(answer.headers[name("x-ratelimit-reset-requests")] == "10s")
                    #expect(answer.headers[name("x-ratelimit-limit-tokens")] == "100000", "only the day caps tokens")
                    tokensLeft.append(Int(answer.headers[name("x-ratelimit-remaining-tokens")] ?? "") ?? -1)
                    #expect(answer.headers[name("anthropic-ratelimit-requests-limit")] == nil, "one dialect's headers only")
                }
                #expect(tokensLeft.allSatisfy { $0 > 0 && $0 < 100_000 } && tokensLeft == tokensLeft.sorted(by: >), "\(tokensLeft)")
                let refused = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(refused.status == .tooManyRequests)
                #expect(refused.headers[.retryAfter] == "10")
                #expect(refused.headers[name("x-ratelimit-limit-requests")] == "3")
                #expect(refused.headers[name("x-ratelimit-remaining-requests")] == "0")
                #expect(refused.headers[name("x-ratelimit-reset-requests")] == "10s")
            }
        }
    }

    @Test func anthropicHeadersNameTheResetAsATime() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await quotas(h)
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret, body: Self.messages)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect(answer.headers[name("anthropic-ratelimit-requests-limit")] == "3")
                #expect(answer.headers[name("anthropic-ratelimit-requests-remaining")] == "2")
                #expect(answer.headers[name("anthropic-ratelimit-requests-reset")] == "2027-01-15T08:00:10.000Z")
                #expect(answer.headers[name("anthropic-ratelimit-tokens-limit")] == "100000")
                #expect(answer.headers[name("x-ratelimit-limit-requests")] == nil)
                for _ in 0..<2 { _ = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret, body: Self.messages) }
                let refused = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret, body: Self.messages)
                #expect(refused.status == .tooManyRequests && refused.object["type"] as? String == "error", "\(refused.text)")
                #expect(refused.headers[name("anthropic-ratelimit-requests-remaining")] == "0")
            }
        }
    }

    @Test func noQuotaNoHeaders() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(answer.status == .ok && answer.headers[name("x-ratelimit-limit-requests")] == nil && answer.headers[name("x-ratelimit-limit-tokens")] == nil)
            }
        }
    }

    @Test func durationsReadAsGoPrintsThem() {
        let cases: [(Int64, String)] = [
            (-5, "0s"), (0, "0s"), (1, "1ms"), (999, "999ms"), (1000, "1s"), (8123, "8.123s"), (8500, "8.5s"), (8050, "8.05s"), (59_999, "59.999s"),
            (60_000, "1m0s"), (360_000, "6m0s"), (3_723_004, "1h2m3.004s"), (2_592_000_000, "720h0m0s"), (.max, "2562047788015h12m55.807s"),
        ]
        for (milliseconds, text) in cases { #expect(RateLimitHeaders.duration(milliseconds: milliseconds) == text, "\(milliseconds)") }
    }

    private func name(_ text: String) -> HTTPField.Name { HTTPField.Name(text)! }
}
