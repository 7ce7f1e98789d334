import Foundation
import HTTPTypes
import MockLLM
import NIOCore
import Policy
import QuotaCRDT
import Testing
@testable import Gateway

/// Either dialect to either provider, through the gateway and a running mockllm: an
/// Anthropic client calls an OpenAI-dialect model and an OpenAI client a Claude model,
/// whole and streamed, tools included; usage is settled from whichever reports it.
@Suite(.serialized) struct TranslationTests {
    private func setUp(_ h: DataPlaneHarness, _ mock: RunningMock) async throws {
        try await h.addCaller()
        try await h.addCredential("key:mock:openai", baseURL: mock.baseURL)
        try await h.addCredential("key:mock:claude", baseURL: "http://127.0.0.1:\(mock.port)", secret: "sk-ant", provider: .anthropic)
        try await h.apply([
            h.deployment("gpt", model: "gpt-4o", credential: "key:mock:openai"),
            h.deployment("claude", model: "claude-sonnet", credential: "key:mock:claude", upstream: "claude-sonnet-4-5"),
            h.price(model: "gpt-4o", inputPer1kNano: 1_000_000, outputPer1kNano: 1_000_000),
            h.price(model: "claude-sonnet", inputPer1kNano: 1_000_000, outputPer1kNano: 1_000_000),
        ])
    }

    private static let tools = #""tools":[{"name":"get_weather","description":"w","input_schema":{"type":"object"}}]"#
    private static let openAITools = #""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#

    @Test func anAnthropicClientCallsAnOpenAIModel() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.chunkTokens = 3 }) { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let whole = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                               body: #"{"model":"gpt-4o","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(whole.status == .ok, "\(whole.text)")
                #expect(whole.object["type"] as? String == "message" && whole.object["stop_reason"] as? String == "end_turn")
                let text = (whole.object["content"] as? [[String: Any]])?.first?["text"] as? String
                #expect(text?.hasPrefix("This is mockllm") == true)
                #expect((whole.object["usage"] as? [String: Any])?["output_tokens"] as? Int == 8)
                let sent = try #require(mock.mock.recorded.last)
                #expect(sent.path == "/v1/chat/completions" && sent.body.contains("\"role\":\"system\""), "translated to OpenAI: \(sent.body)")

                let streamed = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                                  body: #"{"model":"gpt-4o","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                let events = Self.events(streamed.text)
                #expect(events.map(\.name).first == "message_start" && events.map(\.name).last == "message_stop", "\(events.map(\.name))")
                let pieces = events.compactMap { (($0.json["delta"] as? [String: Any])?["text"] as? String) }
                #expect(pieces.joined() == text && pieces.count == 3)
                let delta = events.first { $0.name == "message_delta" }?.json
                #expect((delta?["usage"] as? [String: Any])?["output_tokens"] as? Int == 8)
                #expect(h.gate.settledUsages.allSatisfy { $0 == Usage(requests: 1, tokens: 19, microUSD: 19) }, "\(h.gate.settledUsages)")

                let tool = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                              body: #"{"model":"gpt-4o","max_tokens":100,\#(Self.tools),"messages":[{"role":"user","content":"weather?"}]}"#)
                #expect(tool.object["stop_reason"] as? String == "tool_use", "\(tool.text)")
                #expect((tool.object["content"] as? [[String: Any]])?.first?["name"] as? String == "get_weather")
            }
        }
    }

    @Test func anOpenAIClientCallsAClaudeModel() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.chunkTokens = 2 }) { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let whole = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                               body: #"{"model":"claude-sonnet","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}"#)
                #expect(whole.status == .ok, "\(whole.text)")
                let choice = try #require((whole.object["choices"] as? [[String: Any]])?.first)
                let text = (choice["message"] as? [String: Any])?["content"] as? String
                #expect(text?.hasPrefix("This is mockllm answering claude-sonnet-4-5") == true && choice["finish_reason"] as? String == "stop")
                #expect((whole.object["usage"] as? [String: Any])?["total_tokens"] as? Int == 19)
                let sent = try #require(mock.mock.recorded.last)
                #expect(sent.path == "/v1/messages" && sent.apiKey == "sk-ant" && sent.body.contains("\"system\":\"be brief\""), "\(sent.body)")
                #expect(sent.body.contains("\"max_tokens\":4096"), "Anthropic's required max_tokens is filled in")

                let streamed = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                                  body: #"{"model":"claude-sonnet","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
                let data = Self.events(streamed.text).map(\.data)
                #expect(data.last == "[DONE]")
                let chunks = data.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
                #expect(deltas.joined() == text)
                #expect(chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String } == ["stop"])
                #expect((chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 8, "the usage chunk the client asked for")
                #expect(h.gate.settledUsages.count == 2 && h.gate.settledUsages.allSatisfy { $0.tokens == 19 }, "\(h.gate.settledUsages)")

                let tool = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                              body: #"{"model":"claude-sonnet",\#(Self.openAITools),"messages":[{"role":"user","content":"weather?"}]}"#)
                let toolChoice = try #require((tool.object["choices"] as? [[String: Any]])?.first)
                #expect(toolChoice["finish_reason"] as? String == "tool_calls", "\(tool.text)")
                let call = ((toolChoice["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first
                #expect((call?["function"] as? [String: Any])?["name"] as? String == "get_weather")
            }
        }
    }

    @Test func anAnthropicClientCallsClaudeNatively() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let streamed = try await api.call(.post, "/v1/messages", token: DataPlaneHarness.callerSecret,
                                                  body: #"{"model":"claude-sonnet","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                let events = Self.events(streamed.text)
                #expect(events.first?.name == "message_start" && events.last?.name == "message_stop")
                #expect(events.contains { $0.name == "ping" }, "the provider's own events pass through")
                #expect(mock.mock.recorded.last?.body.contains("\"model\":\"claude-sonnet-4-5\"") == true)
                #expect(h.gate.settledUsages == [Usage(requests: 1, tokens: 19, microUSD: 19)], "\(h.gate.settledUsages)")
            }
        }
    }

    @Test func countTokensAsksClaudeOrEstimates() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await setUp(h, mock)
            try await h.run { api async throws in
                let claude = try await api.call(.post, "/v1/messages/count_tokens", token: DataPlaneHarness.callerSecret,
                                                body: #"{"model":"claude-sonnet","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(claude.object["input_tokens"] as? Int == 11, "the provider's count")
                let other = try await api.call(.post, "/v1/messages/count_tokens", token: DataPlaneHarness.callerSecret,
                                               body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"twelve chars"}]}"#)
                #expect(other.object["input_tokens"] as? Int == 3, "the estimate: 12 bytes / 4")
                let anonymous = try await api.call(.post, "/v1/messages", token: nil, body: #"{"model":"gpt-4o","max_tokens":5,"messages":[]}"#)
                #expect(anonymous.status == .unauthorized && anonymous.object["type"] as? String == "error")
                #expect((anonymous.object["error"] as? [String: Any])?["type"] as? String == "authentication_error", "Anthropic's error shape")
            }
        }
    }

    /// The events of an SSE body: name, data and the data as JSON.
    static func events(_ text: String) -> [(name: String?, data: String, json: [String: Any])] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var name: String?, data = ""
            for line in block.components(separatedBy: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return (name, data, (try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]) ?? [:])
        }
    }
}
