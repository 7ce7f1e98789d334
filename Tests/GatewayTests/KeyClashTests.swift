import Foundation
import HTTPTypes
import MockLLM
import Testing
@testable import Gateway

/// A body with two keys that a provider may read as one (Go's `encoding/json` folds case,
/// `ſ` included) is refused with 400 before anything is reserved or sent: the gateway checks
/// the exact spelling, the provider could act on the other.
@Suite(.serialized) struct KeyClashTests {
    @Test func keysThatFoldTogetherAreRefusedAtAnyDepth() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await h.run { api async throws in
                for (body, pair) in [
                    (#"{"model":"gpt-4o-mini","Model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#, "'Model' and 'model'"),
                    ("{\"model\":\"gpt-4o-mini\",\"stream\":false,\"\u{17F}tream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "'stream' and '\u{17F}tream'"),
                    (#"{"model":"gpt-4o-mini","max_tokens":16,"MAX_TOKENS":100000,"messages":[{"role":"user","content":"hi"}]}"#, "'MAX_TOKENS' and 'max_tokens'"),
                    (#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"SSN 123-45-6789","Content":"hi"}]}"#, "'Content' and 'content'"),
                ] {
                    let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                    #expect(answer.status == .badRequest, "\(body): \(answer.text)")
                    let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains(pair) && message.contains("send each field once"), "\(message)")
                }
                #expect(mock.mock.recorded.isEmpty && h.gate.settledUsages.isEmpty && h.gate.cancelCount == 0, "nothing was sent or reserved")
                // Keys that are merely not plain ASCII take the slow path and are served.
                let accented = #"{"model":"gpt-4o-mini","metadata":{"clé":"v","Ключ":"w"},"messages":[{"role":"user","content":"hi"}]}"#
                let served = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: accented)
                #expect(served.status == .ok, "\(served.text)")
                #expect(mock.mock.recorded.last?.body.contains("Ключ") == true)
            }
        }
    }
}
