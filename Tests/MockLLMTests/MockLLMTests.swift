import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing
@testable import MockLLM

/// The simulator speaks each wire format as its SDKs expect, counts tokens, chunks
/// streams, injects faults and records what it received.
@Suite struct MockLLMTests {
    private func withMock(_ configure: (inout MockOptions) -> Void = { _ in }, _ test: @escaping @Sendable (MockClient, MockLLM) async throws -> Void) async throws {
        var options = MockOptions()
        options.promptTokens = 11
        options.completionTokens = 8
        configure(&options)
        let mock = MockLLM(options: options)
        let router = Router()
        mock.register(on: router)
        try await Application(router: router).test(.router) { client in try await test(MockClient(client: client), mock) }
    }

    @Test func chatCompletionsAnswerWholeWithUsage() async throws {
        try await withMock { api, _ in
            let answer = try await api.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(answer.status == .ok)
            let choice = try #require((answer.json["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect((message["content"] as? String)?.hasPrefix("This is mockllm answering gpt-4o.") == true)
            #expect(choice["finish_reason"] as? String == "stop")
            let usage = try #require(answer.json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 11 && usage["completion_tokens"] as? Int == 8 && usage["total_tokens"] as? Int == 19)
            #expect(answer.json["object"] as? String == "chat.completion" && answer.json["model"] as? String == "gpt-4o")

            let short = try await api.post("/v1/chat/completions", #"{"model":"gpt-4o","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}"#)
            let shortChoice = try #require((short.json["choices"] as? [[String: Any]])?.first)
            #expect(shortChoice["finish_reason"] as? String == "length")
            #expect((short.json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)
        }
    }

    @Test func streamedChatIsChunkedAndEndsWithUsageAndDone() async throws {
        try await withMock({ $0.chunkTokens = 3 }) { api, _ in
            let whole = try await api.post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
            let text = ((whole.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            let streamed = try await api.post(
                "/v1/chat/completions", #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(streamed.headers[.contentType] == "text/event-stream")
            let events = streamed.sseData
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            #expect(deltas.joined() == text, "the stream says what the whole answer says")
            #expect(deltas.filter { !$0.isEmpty }.count == 3, "8 tokens in chunks of 3")
            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true && usage["completion_tokens"] as? Int == 8)
            let finish = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finish == ["stop"])
        }
    }

    @Test func toolsAreCalledInBothDialects() async throws {
        try await withMock { api, _ in
            let tools = #""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#
            let openAI = try await api.post("/v1/chat/completions", #"{"model":"m",\#(tools),"messages":[{"role":"user","content":"weather?"}]}"#)
            let choice = try #require((openAI.json["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let call = try #require(((choice["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first)
            #expect((call["function"] as? [String: Any])?["name"] as? String == "get_weather")
            let answered = try await api.post(
                "/v1/chat/completions",
                #"{"model":"m",\#(tools),"messages":[{"role":"user","content":"weather?"},{"role":"tool","tool_call_id":"c","content":"sunny"}]}"#)
            #expect((answered.json["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop", "a tool result gets a text answer")

            let anthropic = try await api.post(
                "/v1/messages", #"{"model":"claude","max_tokens":100,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"weather?"}]}"#)
            #expect(anthropic.json["stop_reason"] as? String == "tool_use")
            #expect((anthropic.json["content"] as? [[String: Any]])?.first?["name"] as? String == "get_weather")
        }
    }

    @Test func embeddingsAreDeterministicVectors() async throws {
        try await withMock({ $0.embeddingDimensions = 4 }) { api, _ in
            let first = try await api.post("/v1/embeddings", #"{"model":"e","input":["a","b"]}"#)
            let second = try await api.post("/v1/embeddings", #"{"model":"e","input":"a"}"#)
            let data = try #require(first.json["data"] as? [[String: Any]])
            #expect(data.count == 2 && (data[0]["embedding"] as? [Double])?.count == 4)
            #expect((data[0]["embedding"] as? [Double]) == ((second.json["data"] as? [[String: Any]])?.first?["embedding"] as? [Double]))
            #expect((data[0]["embedding"] as? [Double]) != (data[1]["embedding"] as? [Double]))
            #expect((first.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 11)
        }
    }

    @Test func anthropicMessagesWholeAndStreamedAgree() async throws {
        try await withMock({ $0.chunkTokens = 2 }) { api, _ in
            let whole = try await api.post("/v1/messages", #"{"model":"claude","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#)
            let text = (whole.json["content"] as? [[String: Any]])?.first?["text"] as? String
            #expect(whole.json["stop_reason"] as? String == "end_turn" && whole.json["type"] as? String == "message")
            #expect((whole.json["usage"] as? [String: Any])?["output_tokens"] as? Int == 8)

            let streamed = try await api.post("/v1/messages", #"{"model":"claude","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            let names = streamed.sseEvents
            #expect(names.first == "message_start" && names.last == "message_stop")
            #expect(names.contains("content_block_start") && names.contains("message_delta"))
            let deltas = streamed.sseData.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let pieces = deltas.compactMap { ($0["delta"] as? [String: Any])?["text"] as? String }
            #expect(pieces.joined() == text && pieces.count == 4)
            let usage = deltas.first { $0["type"] as? String == "message_delta" }?["usage"] as? [String: Any]
            #expect(usage?["output_tokens"] as? Int == 8)

            let counted = try await api.post("/v1/messages/count_tokens", #"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(counted.json["input_tokens"] as? Int == 11)
        }
    }

    @Test func ollamaStreamsNewlineDelimitedJSON() async throws {
        try await withMock { api, _ in
            let answer = try await api.post("/api/chat", #"{"model":"gemma3","messages":[{"role":"user","content":"hi"}]}"#)
            let lines = answer.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.count == 9, "8 tokens and the final line")
            #expect(lines.last?["done"] as? Bool == true && lines.last?["eval_count"] as? Int == 8 && lines.last?["prompt_eval_count"] as? Int == 11)
            let whole = try await api.post("/api/chat", #"{"model":"gemma3","stream":false,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(((whole.json["message"] as? [String: Any])?["content"] as? String)?.hasPrefix("This is mockllm") == true)
        }
    }

    @Test func echoRepeatsTheUserInThreeCharacterPieces() async throws {
        try await withMock { api, _ in
            let streamed = try await api.post("/v1/chat/completions", #"{"model":"m","stream":true,"messages":[{"role":"user","content":"/echo mail [EMAIL_1] now"}]}"#)
            let chunks = streamed.sseData.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.filter { !$0.isEmpty }
            #expect(deltas.joined() == "mail [EMAIL_1] now")
            #expect(deltas.allSatisfy { $0.count <= 3 } && !deltas.contains("[EMAIL_1]"), "the placeholder is split across chunks")
        }
    }

    @Test func faultsHitTheirModelAndCountThenStop() async throws {
        try await withMock { api, mock in
            #expect(try await api.post("/_mock/faults", #"{"kind":"status","status":500,"count":2,"model":"flaky"}"#).status == .created)
            #expect(try await api.post("/_mock/faults", #"{"kind":"status","status":200}"#).status == .badRequest)
            let body = #"{"model":"flaky","messages":[{"role":"user","content":"hi"}]}"#
            let first = try await api.post("/v1/chat/completions", body)
            #expect(first.status == .internalServerError && (first.json["error"] as? [String: Any])?["type"] as? String == "server_error")
            #expect(try await api.post("/v1/chat/completions", #"{"model":"steady","messages":[]}"#).status == .ok, "other models are untouched")
            #expect(try await api.post("/v1/chat/completions", body).status == .internalServerError)
            #expect(try await api.post("/v1/chat/completions", body).status == .ok, "the fault was spent after two")

            #expect(try await api.post("/_mock/faults", #"{"kind":"status","status":429,"count":1}"#).status == .created)
            let limited = try await api.post("/v1/messages", #"{"model":"claude","max_tokens":5,"messages":[]}"#)
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] == "1")
            #expect((limited.json["error"] as? [String: Any])?["type"] as? String == "rate_limit_error" && limited.json["type"] as? String == "error")
            #expect(mock.state.faults.isEmpty)
        }
    }

    @Test func requestsAreRecordedAndAKeyCanBeRequired() async throws {
        try await withMock({ $0.requiredKey = "sk-upstream" }) { api, mock in
            let refused = try await api.post("/v1/chat/completions", #"{"model":"m","messages":[]}"#, key: "sk-wrong")
            #expect(refused.status == .unauthorized)
            let accepted = try await api.post("/v1/chat/completions", #"{"model":"m","messages":[{"role":"user","content":"card 4111"}]}"#, key: "sk-upstream")
            #expect(accepted.status == .ok)
            let recorded = try await api.get("/_mock/requests")
            let items = try #require(recorded.json["items"] as? [[String: Any]])
            #expect(items.count == 2 && items.last?["api_key"] as? String == "sk-upstream")
            #expect(mock.recorded.last?.body.contains("card 4111") == true)
            #expect(try await api.call(.delete, "/_mock/requests").status == .noContent)
            #expect(mock.recorded.isEmpty)
            #expect(try await api.post("/v1/chat/completions", "not json", key: "sk-upstream").status == .badRequest)
        }
    }

    @Test func droppedAndHeldRequestsFailLikeABrokenUpstream() async throws {
        var options = MockOptions()
        options.hang = .milliseconds(200)
        let mock = MockLLM(options: options)
        let router = Router()
        mock.register(on: router)
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            // A fresh connection per call: a drop closes the one it happened on.
            func post(_ path: String, _ body: String) async throws -> (status: Int, text: String) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = .POST
                request.headers.add(name: "Connection", value: "close")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
            let streamBody = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await post("/_mock/faults", #"{"kind":"drop","count":2}"#).status == 201)
            await #expect(throws: (any Error).self, "a dropped whole answer is a broken response") { _ = try await post("/v1/chat/completions", body) }
            let stream = try? await post("/v1/chat/completions", streamBody)
            #expect(stream?.text.contains("[DONE]") != true, "a dropped stream never finishes")
            #expect(try await post("/v1/chat/completions", body).status == 200, "the drops were spent")

            #expect(try await post("/_mock/faults", #"{"kind":"timeout","count":1}"#).status == 201)
            let start = ContinuousClock.now
            let held = try await post("/v1/chat/completions", body)
            #expect(held.status == 504 && ContinuousClock.now - start >= .milliseconds(200))
        }
    }

    @Test func faultRatesFollowTheSeedAndReplay() {
        func run(_ seed: UInt64) -> [Bool] {
            let state = MockState(faults: [Fault(kind: .status, status: 503, rate: 0.3)], seed: seed)
            return (0..<1000).map { _ in state.fault(for: "m") != nil }
        }
        let first = run(42)
        let hits = first.filter { $0 }.count
        #expect((240...360).contains(hits), "seed 42 hit \(hits) of 1000 at rate 0.3")
        #expect(run(42) == first, "seed 42 replays")
        #expect(run(43) != first)
    }
}

/// One answer: status, headers, text and the JSON object if it is one.
struct MockAnswer {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
    /// The `data:` payloads of an SSE body.
    var sseData: [String] { text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } }
    /// The `event:` names of an SSE body.
    var sseEvents: [String] { text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } }
}

struct MockClient {
    let client: any TestClientProtocol

    func call(_ method: HTTPRequest.Method, _ uri: String, body: String? = nil, key: String? = nil) async throws -> MockAnswer {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return MockAnswer(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    func post(_ uri: String, _ body: String, key: String? = nil) async throws -> MockAnswer { try await call(.post, uri, body: body, key: key) }
    func get(_ uri: String) async throws -> MockAnswer { try await call(.get, uri) }
}
