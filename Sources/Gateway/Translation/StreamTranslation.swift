import Foundation
import NIOCore

/// One server-sent event: its name (Anthropic names them), its data and its bytes.
struct SSEEvent {
    var name: String?
    var data: String
    var raw: [UInt8]

    /// The data as a JSON object, if it is one.
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] }
}

/// Cuts a byte stream into server-sent events at blank lines.
struct SSESplitter {
    /// The longest event accepted; a longer one is passed on as it is.
    static let eventBytesMax = 1 << 20
    private var pending: [UInt8] = []
    /// Where the search for the next event's end resumes: bytes before it hold none, so a
    /// large event arriving in small pieces is scanned once, not once per piece (a 1 MB
    /// event in 1 kB pieces once cost seconds of CPU).
    private var scanned = 0

    mutating func feed(_ buffer: ByteBuffer) -> [SSEEvent] {
        pending += buffer.readableBytesView
        var events: [SSEEvent] = []
        var start = 0
        while let end = Self.eventEnd(in: pending, from: max(start, scanned)) {
            events.append(Self.parse(Array(pending[start..<end])))
            start = end
            scanned = end
        }
        if start > 0 { pending.removeFirst(start) }
        // The last three bytes may begin a separator that the next piece completes.
        scanned = max(0, pending.count - 3)
        if pending.count > Self.eventBytesMax {
            events.append(Self.parse(pending))
            pending.removeAll()
            scanned = 0
        }
        return events
    }

    /// An unterminated last event, if the stream ended inside one.
    mutating func finish() -> [SSEEvent] {
        defer {
            pending.removeAll()
            scanned = 0
        }
        return pending.contains(where: { !($0 == 10 || $0 == 13 || $0 == 32) }) ? [Self.parse(pending)] : []
    }

    private static func eventEnd(in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 10 && bytes[index + 1] == 10 { return index + 2 }
            if index + 3 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index + 4 }
            index += 1
        }
        return nil
    }

    private static func parse(_ raw: [UInt8]) -> SSEEvent {
        var name: String?, data: [Substring] = []
        for line in String(decoding: raw, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix("event:") { name = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
            if line.hasPrefix("data:") { data.append(line.dropFirst(line.dropFirst(5).hasPrefix(" ") ? 6 : 5)) }
        }
        return SSEEvent(name: name, data: data.joined(separator: "\n"), raw: raw)
    }
}

/// Turns the upstream's stream events into the client's, noting the usage on the way.
protocol StreamTranslator: Sendable {
    /// Bytes for the client for one upstream event.
    mutating func translate(_ event: SSEEvent) -> [UInt8]
    /// Bytes for the client once the upstream stream has ended.
    mutating func finish() -> [UInt8]
    var inputTokens: Int? { get }
    var outputTokens: Int? { get }
    /// Characters of streamed text, for an estimate when no usage arrives.
    var contentCharacters: Int { get }
}

func sseData(_ object: [String: Any]) -> [UInt8] {
    Array("data: ".utf8) + Array(JSONField.encode(object, sorted: true) ?? Data()) + [10, 10]
}

func sseEvent(_ name: String, _ object: [String: Any]) -> [UInt8] {
    Array("event: \(name)\n".utf8) + sseData(object)
}

/// OpenAI to OpenAI: events pass unchanged, except the usage-only chunk the gateway asked
/// for, which a client that did not ask does not see.
struct OpenAIPassthrough: StreamTranslator {
    let clientWantsUsage: Bool
    private(set) var inputTokens: Int?
    private(set) var outputTokens: Int?
    private(set) var contentCharacters = 0

    init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard event.data != "[DONE]", let object = event.json else { return event.raw }
        let choices = object["choices"] as? [[String: Any]] ?? []
        for choice in choices { contentCharacters += ((choice["delta"] as? [String: Any])?["content"] as? String)?.count ?? 0 }
        if let usage = object["usage"] as? [String: Any] {
            inputTokens = ReportedTokens.read(usage, "prompt_tokens") ?? inputTokens
            outputTokens = ReportedTokens.read(usage, "completion_tokens") ?? outputTokens
            if choices.isEmpty && !clientWantsUsage { return [] }
        }
        return event.raw
    }

    mutating func finish() -> [UInt8] { [] }
}

/// Anthropic to Anthropic: events pass unchanged; the usage is read from `message_start`
/// and `message_delta`.
struct AnthropicPassthrough: StreamTranslator {
    private(set) var inputTokens: Int?
    private(set) var outputTokens: Int?
    private(set) var contentCharacters = 0

    mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard let object = event.json else { return event.raw }
        switch object["type"] as? String {
        case "message_start":
            let usage = (object["message"] as? [String: Any])?["usage"] as? [String: Any]
            inputTokens = ReportedTokens.read(usage, "input_tokens")
        case "message_delta":
            outputTokens = ReportedTokens.read(object["usage"] as? [String: Any], "output_tokens") ?? outputTokens
        case "content_block_delta":
            contentCharacters += ((object["delta"] as? [String: Any])?["text"] as? String)?.count ?? 0
        default: break
        }
        return event.raw
    }

    mutating func finish() -> [UInt8] { [] }
}

/// An OpenAI chunk stream told as Anthropic's message events.
struct OpenAIToAnthropicStream: StreamTranslator {
    let model: String
    let inputEstimate: Int
    private(set) var inputTokens: Int?
    private(set) var outputTokens: Int?
    private(set) var contentCharacters = 0
    private var started = false, finished = false
    private var openBlock: Int?
    private var nextBlock = 0
    private var toolBlocks: [Int: Int] = [:]
    private var finishReason: String?

    init(model: String, inputEstimate: Int) {
        self.model = model
        self.inputEstimate = inputEstimate
    }

    mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard event.data != "[DONE]", let object = event.json else { return [] }
        var out = start()
        if let usage = object["usage"] as? [String: Any] {
            inputTokens = ReportedTokens.read(usage, "prompt_tokens") ?? inputTokens
            outputTokens = ReportedTokens.read(usage, "completion_tokens") ?? outputTokens
        }
        for choice in object["choices"] as? [[String: Any]] ?? [] {
            let delta = choice["delta"] as? [String: Any] ?? [:]
            if let text = delta["content"] as? String, !text.isEmpty {
                contentCharacters += text.count
                if openBlock == nil || toolBlocks.values.contains(openBlock!) {
                    out += closeBlock()
                    out += openBlockEvent(["type": "text", "text": ""])
                }
                out += sseEvent("content_block_delta", ["type": "content_block_delta", "index": openBlock!, "delta": ["type": "text_delta", "text": text]])
            }
            for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                let toolIndex = call["index"].flatMap(JSONField.integer) ?? 0
                let function = call["function"] as? [String: Any] ?? [:]
                if toolBlocks[toolIndex] == nil {
                    out += closeBlock()
                    out += openBlockEvent(["type": "tool_use", "id": call["id"] as? String ?? "toolu_\(toolIndex)", "name": function["name"] as? String ?? "", "input": [String: Any]()])
                    toolBlocks[toolIndex] = openBlock
                }
                if let arguments = function["arguments"] as? String, !arguments.isEmpty, let block = toolBlocks[toolIndex] {
                    out += sseEvent("content_block_delta", ["type": "content_block_delta", "index": block, "delta": ["type": "input_json_delta", "partial_json": arguments]])
                }
            }
            if let reason = choice["finish_reason"] as? String { finishReason = reason }
        }
        return out
    }

    mutating func finish() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        var out = start() + closeBlock()
        out += sseEvent("message_delta", [
            "type": "message_delta", "delta": ["stop_reason": ResponseTranslation.stopReason(fromFinish: finishReason), "stop_sequence": NSNull()],
            "usage": ["output_tokens": outputTokens ?? max(1, contentCharacters / 4)],
        ])
        out += sseEvent("message_stop", ["type": "message_stop"])
        return out
    }

    private mutating func start() -> [UInt8] {
        guard !started else { return [] }
        started = true
        return sseEvent("message_start", ["type": "message_start", "message": [
            "id": "msg_weir\(UInt32.random(in: 0...UInt32.max))", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": ["input_tokens": inputEstimate, "output_tokens": 1],
        ] as [String: Any]])
    }

    private mutating func openBlockEvent(_ block: [String: Any]) -> [UInt8] {
        openBlock = nextBlock
        nextBlock += 1
        return sseEvent("content_block_start", ["type": "content_block_start", "index": openBlock!, "content_block": block])
    }

    private mutating func closeBlock() -> [UInt8] {
        guard let block = openBlock else { return [] }
        openBlock = nil
        return sseEvent("content_block_stop", ["type": "content_block_stop", "index": block])
    }
}

/// Anthropic's message events told as an OpenAI chunk stream.
struct AnthropicToOpenAIStream: StreamTranslator {
    let model: String
    let clientWantsUsage: Bool
    let id = "chatcmpl-weir\(UInt32.random(in: 0...UInt32.max))"
    let created = Int(Date().timeIntervalSince1970)
    private(set) var inputTokens: Int?
    private(set) var outputTokens: Int?
    private(set) var contentCharacters = 0
    private var toolIndexByBlock: [Int: Int] = [:]
    private var done = false

    init(model: String, clientWantsUsage: Bool) {
        self.model = model
        self.clientWantsUsage = clientWantsUsage
    }

    mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard let object = event.json else { return [] }
        let block = object["index"].flatMap(JSONField.integer) ?? 0
        switch object["type"] as? String {
        case "message_start":
            let usage = (object["message"] as? [String: Any])?["usage"] as? [String: Any]
            inputTokens = ReportedTokens.read(usage, "input_tokens")
            return chunk(["role": "assistant", "content": ""])
        case "content_block_start":
            guard let start = object["content_block"] as? [String: Any], start["type"] as? String == "tool_use" else { return [] }
            let index = toolIndexByBlock.count
            toolIndexByBlock[block] = index
            return chunk(["tool_calls": [["index": index, "id": start["id"] as? String ?? "", "type": "function",
                                          "function": ["name": start["name"] as? String ?? "", "arguments": ""]]]])
        case "content_block_delta":
            let delta = object["delta"] as? [String: Any] ?? [:]
            if let text = delta["text"] as? String {
                contentCharacters += text.count
                return chunk(["content": text])
            }
            if let partial = delta["partial_json"] as? String, let index = toolIndexByBlock[block] {
                return chunk(["tool_calls": [["index": index, "function": ["arguments": partial]]]])
            }
            return []
        case "message_delta":
            outputTokens = ReportedTokens.read(object["usage"] as? [String: Any], "output_tokens") ?? outputTokens
            let stop = (object["delta"] as? [String: Any])?["stop_reason"] as? String
            return chunk([:], finish: ResponseTranslation.finishReason(fromStop: stop))
        case "message_stop":
            return end()
        case "error":
            return sseData(["error": ["message": ((object["error"] as? [String: Any])?["message"] as? String) ?? "the provider failed mid-answer", "type": "api_error"]])
        default:
            return []
        }
    }

    mutating func finish() -> [UInt8] { [] }

    private mutating func end() -> [UInt8] {
        guard !done else { return [] }
        done = true
        var out: [UInt8] = []
        if clientWantsUsage {
            let input = inputTokens ?? 0, output = outputTokens ?? 0
            out += sseData(["id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                            "usage": ["prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output]])
        }
        return out + Array("data: [DONE]\n\n".utf8)
    }

    private func chunk(_ delta: [String: Any], finish: String? = nil) -> [UInt8] {
        sseData(["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]]])
    }
}
