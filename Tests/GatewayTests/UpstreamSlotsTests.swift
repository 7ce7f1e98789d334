import Foundation
import HTTPTypes
import HummingbirdTesting
import MockLLM
import Testing
@testable import Gateway

/// Provider calls per host are bounded: past `connections_per_host + queued_per_host`, a
/// call is refused at once with 503 and `Retry-After`, before anything is reserved, and a
/// stream holds its slot until it ends.
@Suite(.serialized) struct UpstreamSlotsTests {
    @Test func slotsAreCountedPerHostAndReleasedOnce() {
        let slots = UpstreamSlots(UpstreamLimits(connectionsPerHost: 1, queuedPerHost: 1))
        let url = "http://127.0.0.1:8080/v1/chat/completions"
        #expect(UpstreamSlots.host(of: url) == "http://127.0.0.1:8080")
        #expect(UpstreamSlots.host(of: "https://api.example.com?x=1") == "https://api.example.com")
        #expect(UpstreamSlots.host(of: "no scheme") == "no scheme")
        #expect(UpstreamSlots.host(of: "HTTP://API.Example.com/v1") == "http://api.example.com", "one host, one count, however it is spelled")
        let first = slots.take(for: url), second = slots.take(for: url + "?again")
        #expect(first != nil && second != nil)
        #expect(slots.take(for: url) == nil, "two open: the host is full")
        #expect(slots.take(for: "http://127.0.0.1:9090/v1") != nil, "another host has its own count")
        first?.release()
        first?.release()  // once only: a second release frees nothing
        #expect(slots.count("http://127.0.0.1:8080") == 1)
        var third = slots.take(for: url)
        #expect(third != nil && slots.take(for: url) == nil)
        third = nil  // a slot nobody released is freed with its last reference
        #expect(slots.count("http://127.0.0.1:8080") == 1 && slots.take(for: url) != nil)
    }

    @Test func aFullHostAnswers503WithRetryAfterAndReservesNothing() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.latency = .seconds(2) }) { mock in
            try await h.serveStandardModels(at: mock)
            try await h.run(upstreamLimits: UpstreamLimits(connectionsPerHost: 1, queuedPerHost: 0)) { api async throws in
                let body = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#
                async let slow = api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                try await Self.waitUntilReceived(1, by: mock)  // the first call holds the slot (the mock waits 2 s)
                let refused = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                #expect(refused.status == .serviceUnavailable, "\(refused.text)")
                #expect(refused.headers[.retryAfter] != nil)
                let error = try #require(refused.object["error"] as? [String: Any])
                #expect(error["code"] as? String == "upstream_busy" && (error["message"] as? String)?.contains("upstream.queued_per_host") == true)
                #expect(try await slow.status == .ok)
                #expect(h.gate.settledUsages.count == 1 && h.gate.cancelCount == 0, "the refused call reserved nothing")
                #expect(h.usage.recorded.contains { $0.status == 503 && $0.errorCode == "upstream_busy" }, "the refusal is a usage event")
                // The slot is free again.
                #expect(try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body).status == .ok)
            }
        }
    }

    @Test func aStreamHoldsItsSlotUntilItEnds() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.chunkDelay = .milliseconds(150); $0.completionTokens = 20 }) { mock in
            try await h.serveStandardModels(at: mock)
            try await h.run(upstreamLimits: UpstreamLimits(connectionsPerHost: 1, queuedPerHost: 0)) { api async throws in
                let stream = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                let whole = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#
                async let streamed = api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: stream)
                try await Self.waitUntilReceived(1, by: mock)  // the stream then runs for about 3 s
                let during = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: whole)
                #expect(during.status == .serviceUnavailable, "\(during.text)")
                let finished = try await streamed
                #expect(finished.status == .ok && finished.text.contains("[DONE]"))
                #expect(try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: whole).status == .ok, "released when the stream ended")
            }
        }
    }

    /// Waits (5 s at most) until the mock has received `count` requests.
    static func waitUntilReceived(_ count: Int, by mock: RunningMock) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while mock.mock.recorded.count < count {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
