import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The upstream simulator: OpenAI (`/v1/chat/completions`, `/v1/embeddings`,
/// `/v1/models`), Anthropic (`/v1/messages`, `/v1/messages/count_tokens`) and Ollama
/// (`/api/chat`, `/api/tags`) wire formats, with injected latency, token counts, stream
/// chunking and faults, and a control API under `/_mock/` (recorded requests, faults).
public struct MockLLM: Sendable {
    public let options: MockOptions
    let state: MockState

    public init(options: MockOptions) {
        self.options = options
        state = MockState(faults: options.faults, seed: options.seed)
    }

    /// Requests served since start (recorded or not).
    public var served: Int { state.served }
    /// The requests kept for inspection, oldest first.
    public var recorded: [RecordedRequest] { state.recorded }

    /// Adds a fault, as `POST /_mock/faults` does.
    public func inject(_ fault: Fault) { state.add(fault) }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/chat/completions") { request, _ in try await self.serve(request, .openAI, OpenAIWire.chat) }
        router.post("/v1/embeddings") { request, _ in try await self.serve(request, .openAI, OpenAIWire.embeddings) }
        router.get("/v1/models") { _, _ in OpenAIWire.models(self.options.models) }
        router.post("/v1/messages") { request, _ in try await self.serve(request, .anthropic, AnthropicWire.messages) }
        router.post("/v1/messages/count_tokens") { request, _ in try await self.serve(request, .anthropic, AnthropicWire.countTokens) }
        router.post("/api/chat") { request, _ in try await self.serve(request, .ollama, OllamaWire.chat) }
        router.get("/api/tags") { _, _ in OllamaWire.tags(self.options.models) }
        MockControl(state: state).register(on: router)
    }

    /// Serves on `host:port` until cancelled; `onListening` gets the bound port.
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        register(on: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mockllm"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) })
        try await app.runService()
    }

    /// Serves on a free loopback port while `body` runs with that port, then stops.
    public func serving<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = Task { try await run(host: "127.0.0.1", port: 0) { continuation.yield($0) } }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return try await body(port)
    }

    /// Reads, records and checks one request, applies faults and latency, then answers.
    private func serve(_ request: Request, _ dialect: Dialect, _ answer: @Sendable (MockCall) async throws -> Response) async throws -> Response {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: MockOptions.bodyBytesMax).readableBytesView)
        } catch {
            return dialect.error(413, "the body is larger than \(MockOptions.bodyBytesMax) bytes")
        }
        guard let json = LooseJSON(bytes) else { return dialect.error(400, "the body is not a JSON object") }
        let key = Self.presentedKey(request.headers)
        let model = json.string("model")
        let stream = json.bool("stream") ?? (dialect == .ollama)
        state.record(RecordedRequest(path: request.uri.path, model: model, stream: stream, apiKey: key, body: String(decoding: bytes, as: UTF8.self)))
        if let required = options.requiredKey, key != required { return dialect.error(401, "invalid API key: present the key mockllm was started with") }
        guard let model, !model.isEmpty else { return dialect.error(400, "model is required") }

        if let fault = state.fault(for: model) {
            switch fault.kind {
            case .status: return dialect.error(fault.status ?? 500, "mockllm injected a \(fault.status ?? 500)")
            case .timeout:
                try await Task.sleep(for: options.hang)
                return dialect.error(504, "mockllm held the request for \(options.hang)")
            case .drop: return Self.dropped(stream: stream)
            }
        }
        if options.latency > .zero { try await Task.sleep(for: options.latency) }
        let call = MockCall(
            json: json, model: model, stream: stream, options: options,
            promptTokens: options.promptTokens ?? MockReply.estimateTokens(json.promptText), number: state.served)
        return try await answer(call)
    }

    /// Starts an answer, then fails the connection.
    private static func dropped(stream: Bool) -> Response {
        let first = ByteBuffer(string: stream ? "data: {\"partial\":true}\n\n" : "{\"partial\":")
        return Response(
            status: .ok, headers: [.contentType: stream ? "text/event-stream" : "application/json"],
            body: ResponseBody(contentLength: stream ? nil : 4096) { writer in
                try await writer.write(first)
                throw CancellationError()
            })
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            return String(authorization.dropFirst("bearer ".count))
        }
        return headers[HTTPField.Name("x-api-key")!] ?? headers[HTTPField.Name("api-key")!]
    }
}

/// One request being answered.
struct MockCall: @unchecked Sendable {
    let json: LooseJSON
    let model: String
    let stream: Bool
    let options: MockOptions
    let promptTokens: Int
    /// A number for response ids.
    let number: Int

    /// The reply's tokens, capped by the request's maximum (`max_tokens` and friends).
    var reply: (tokens: [String], truncated: Bool) {
        let asked = json.int("max_completion_tokens") ?? json.int("max_tokens")
            ?? (json["options"] as? [String: Any])?["num_predict"].flatMap { ($0 as? NSNumber)?.intValue }
        let all = MockReply.tokens(model: model, lastUserText: json.lastUserText, count: min(options.completionTokens, MockOptions.tokensMax))
        guard let asked, asked >= 0, asked < all.count else { return (all, false) }
        return (Array(all.prefix(asked)), true)
    }

    /// The tokens grouped into stream chunks of `chunkTokens`.
    func chunks(_ tokens: [String]) -> [String] {
        let size = max(1, options.chunkTokens)
        return stride(from: 0, to: tokens.count, by: size).map { tokens[$0..<min($0 + size, tokens.count)].joined() }
    }

    /// The first tool's name when the request offers tools and does not answer a tool call.
    func toolToCall(nameAt path: [String]) -> String? {
        guard let tools = json["tools"] as? [[String: Any]], let first = tools.first else { return nil }
        if let choice = json["tool_choice"] as? String, choice == "none" { return nil }
        let last = json.objects("messages").last
        if (last?["role"] as? String) == "tool" { return nil }
        if let parts = last?["content"] as? [[String: Any]], parts.contains(where: { ($0["type"] as? String) == "tool_result" }) { return nil }
        var node: Any? = first
        for key in path { node = (node as? [String: Any])?[key] }
        return node as? String
    }

    /// An SSE body from `events`, written with the configured chunk delay.
    func sse(_ events: [String]) -> Response {
        let delay = options.chunkDelay
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for (n, event) in events.enumerated() {
                    if n > 0 && delay > .zero { try await Task.sleep(for: delay) }
                    try await writer.write(ByteBuffer(string: event))
                }
                try await writer.finish(nil)
            })
    }
}

/// The three wire dialects, for error bodies.
enum Dialect: Sendable {
    case openAI, anthropic, ollama

    func error(_ status: Int, _ message: String) -> Response {
        let body: [String: Any]
        switch self {
        case .openAI:
            let type = status == 429 ? "rate_limit_exceeded" : (status >= 500 ? "server_error" : (status == 401 ? "invalid_api_key" : "invalid_request_error"))
            body = ["error": ["message": message, "type": type, "param": NSNull(), "code": type]]
        case .anthropic:
            let type = switch status {
            case 401: "authentication_error"
            case 429: "rate_limit_error"
            case 529: "overloaded_error"
            case 500...: "api_error"
            default: "invalid_request_error"
            }
            body = ["type": "error", "error": ["type": type, "message": message]]
        case .ollama:
            body = ["error": message]
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == 429 { headers[.retryAfter] = "1" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: LooseJSON.encode(body))))
    }
}

/// A JSON answer.
func jsonResponse(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: LooseJSON.encode(value))))
}
