import Foundation
import HTTPTypes
import HummingbirdTesting
import MetricsTestKit
import MockLLM
import NIOCore
import Policy
import Testing
@testable import Gateway

/// The exact-match response cache: deterministic requests only, opt-outs honoured, DLP
/// placeholders restored with each request's own values, entries expiring and bounded.
@Suite(.serialized) struct ResponseCacheTests {
    private func setUp(_ h: DataPlaneHarness, _ mock: RunningMock) async throws {
        try await h.addCaller()
        try await h.addCredential("key:mock:main", baseURL: mock.baseURL)
        try await h.apply([
            h.deployment("mini", model: "gpt-4o-mini", credential: "key:mock:main"),
            h.price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000),
        ])
    }

    private func chat(_ api: AdminClient, _ body: String, token: String = DataPlaneHarness.callerSecret, headers: HTTPFields = [:]) async throws -> (String?, String) {
        var fields = headers
        fields[.authorization] = "Bearer \(token)"
        let response = try await api.client.execute(uri: "/v1/chat/completions", method: .post, headers: fields, body: ByteBuffer(string: body))
        return (response.headers[HTTPField.Name("x-weir-cache")!], String(buffer: response.body))
    }

    static let deterministic = #"{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"hi"}]}"#

    @Test func aDeterministicRequestIsAnsweredOnceThenFromTheCache() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let first = try await chat(api, Self.deterministic)
                let second = try await chat(api, Self.deterministic)
                #expect(first.0 == "miss" && second.0 == "hit" && first.1 == second.1)
                #expect(try await chat(api, Self.deterministic.replacingOccurrences(of: "\"temperature\":0", with: "\"temperature\":0.7")).0 == nil, "chance: never cached")
                #expect(try await chat(api, Self.deterministic, headers: [.cacheControl: "no-cache"]).0 == nil)
            }
            #expect(mock.mock.served == 3, "one provider call for the two identical requests")
            let events = h.usage.recorded
            #expect(events.map(\.cached) == [false, true, false, false] && events[1].model == "gpt-4o-mini" && events[1].microUSD == 0)
            #expect(try h.metrics.expectCounter("weir_cache_hits_total", [("model", "gpt-4o-mini")]).totalValue == 1)
        }
    }

    @Test func optOutsTurnItOff() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            let secret = "weir_no-cache-caller"
            var token = ClientToken(
                id: "tok_nocache", secretHash: TokenSecret.hash(secret), displayPrefix: "weir_no…", name: nil, principal: "agent:bot",
                namespace: "tenant:default", user: "user:ann", app: nil, scopes: ["model.invoke"], expiresAt: nil, revoked: false, created: .pending, updated: .pending)
            token.cacheOptOut = true
            try await h.apply([.issueToken(token)])
            try await h.run { api async throws in
                for _ in 0..<2 { #expect(try await chat(api, Self.deterministic, token: secret).0 == nil) }
            }
            var settings = h.policy.current.settings
            settings.cacheTTLSeconds = 0
            try await h.apply([.putSettings(settings)])
            try await h.run { api async throws in
                for _ in 0..<2 { #expect(try await chat(api, Self.deterministic).0 == nil) }
            }
            #expect(mock.mock.served == 4)
        }
    }

    @Test func aCachedAnswerIsRestoredWithTheRequestsOwnValues() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.apply([
                .putDLP(DLPPolicy(id: "dlp:mail", name: nil, enabled: true, action: .redact, detectors: [.email], patterns: [], created: .pending, updated: .pending)),
                .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: "dlp:mail", created: .pending, updated: .pending)),
            ])
            try await h.run { api async throws in
                func ask(_ mail: String) async throws -> (String?, String?) {
                    let (cache, text) = try await chat(api, #"{"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"user","content":"/echo write to \#(mail)"}]}"#)
                    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    return (cache, ((object?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
                }
                #expect(try await ask("ann@acme.test") == ("miss", "write to ann@acme.test"))
                #expect(try await ask("bob@acme.test") == ("hit", "write to bob@acme.test"), "same placeholder, the caller's own value")
            }
            #expect(mock.mock.served == 1)
        }
    }

    @Test func entriesExpireAndTheCacheStaysBounded() {
        let cache = ResponseCache()
        cache.put("a", .init(bytes: [1], model: "m", expiresAt: 1_000))
        #expect(cache.get("a", now: 999)?.bytes == [1])
        #expect(cache.get("a", now: 1_000) == nil, "expired at its TTL")
        cache.put("big", .init(bytes: [UInt8](repeating: 0, count: ResponseCache.entryBytesMax + 1), model: "m", expiresAt: .max))
        #expect(cache.get("big", now: 0) == nil, "an answer over the entry limit is not kept")
        for n in 0...ResponseCache.entriesMax { cache.put("k\(n)", .init(bytes: [2], model: "m", expiresAt: .max)) }
        #expect(cache.get("k0", now: 0) == nil && cache.get("k\(ResponseCache.entriesMax)", now: 0) != nil, "the oldest entry made room")
    }
}
