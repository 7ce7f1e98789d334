import Foundation
import HTTPTypes
import MockLLM
import Policy
import Testing
@testable import Gateway

/// An email and a card number never reach the provider and come back restored, whole and
/// streamed, in both dialects, even with placeholders split across chunks.
@Suite(.serialized) struct DLPPipelineTests {
    static let secretText = "mail ann@acme.test card 4111 1111 1111 1111 ok"

    private func setUp(_ h: DataPlaneHarness, _ mock: RunningMock, action: DLPPolicy.Action = .redact) async throws {
        try await h.addCaller()
        try await h.addCredential("key:mock:main", baseURL: mock.baseURL)
        try await h.apply([
            .putDLP(DLPPolicy(id: "dlp:strict", name: nil, enabled: true, action: action, detectors: [.email, .creditCard], patterns: [], created: .pending, updated: .pending)),
            .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: "dlp:strict", created: .pending, updated: .pending)),
            h.deployment("mini", model: "gpt-4o-mini", credential: "key:mock:main"),
            h.price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000),
        ])
    }

    private func assertNothingLeaked(_ mock: RunningMock) {
        for request in mock.mock.recorded {
            #expect(!request.body.contains("ann@acme.test") && !request.body.contains("4111"), "the provider received \(request.body)")
            #expect(request.body.contains("[EMAIL_1]") && request.body.contains("[CARD_1]"))
        }
    }

    @Test func anOpenAIRoundTripIsRedactedAndRestored() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let whole = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                               body: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"/echo \#(Self.secretText)"}]}"#)
                let content = ((whole.object["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
                #expect(content == Self.secretText, "\(whole.text)")

                let streamed = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                                  body: #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"/echo \#(Self.secretText)"}]}"#)
                let data = TranslationTests.events(streamed.text).map(\.data)
                #expect(data.last == "[DONE]")
                let deltas = data.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    .compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
                #expect(deltas.joined() == Self.secretText, "streamed: \(deltas)")
            }
            assertNothingLeaked(mock)
        }
    }

    @Test func anAnthropicStreamIsRestoredToo() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let streamed = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                                  body: #"{"model":"gpt-4o-mini","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"/echo \#(Self.secretText)"}]}"#)
                let events = TranslationTests.events(streamed.text)
                let text = events.compactMap { ($0.json["delta"] as? [String: Any])?["text"] as? String }.joined()
                #expect(text == Self.secretText, "\(events.map(\.name))")
                #expect(events.last?.name == "message_stop")
            }
            assertNothingLeaked(mock)
        }
    }

    @Test func aBlockingPolicyRefusesBeforeTheProvider() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock, action: .block)
            try await h.run { api async throws in
                let refused = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                                 body: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\#(Self.secretText)"}]}"#)
                #expect(refused.status == .badRequest && (refused.object["error"] as? [String: Any])?["code"] as? String == "dlp_blocked", "\(refused.text)")
                let clean = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                               body: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"nothing to hide"}]}"#)
                #expect(clean.status == .ok)
            }
            #expect(mock.mock.served == 1, "only the clean request reached the provider")
        }
    }
}
