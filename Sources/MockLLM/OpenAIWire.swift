import Foundation
import Hummingbird

/// OpenAI's wire format: chat completions (whole or as `chat.completion.chunk` SSE with
/// a final usage chunk when `stream_options.include_usage`), embeddings and the model list.
enum OpenAIWire {
    static func chat(_ call: MockCall) -> Response {
        let id = "chatcmpl-mock\(call.number)"
        let created = Int(Date().timeIntervalSince1970)
        let (tokens, truncated) = call.reply
        let tool = call.toolToCall(nameAt: ["function", "name"])
        let completion = tool == nil ? tokens.count : 1
        let usage: [String: Any] = ["prompt_tokens": call.promptTokens, "completion_tokens": completion, "total_tokens": call.promptTokens + completion]
        let finish = tool != nil ? "tool_calls" : (truncated ? "length" : "stop")
        let toolCall: [String: Any]? = tool.map { ["id": "call_mock\(call.number)", "type": "function", "function": ["name": $0, "arguments": "{}"]] }

        guard call.stream else {
            var message: [String: Any] = ["role": "assistant", "content": tool == nil ? tokens.joined() : NSNull()]
            if let toolCall { message["tool_calls"] = [toolCall] }
            return jsonResponse([
                "id": id, "object": "chat.completion", "created": created, "model": call.model,
                "choices": [["index": 0, "message": message, "finish_reason": finish, "logprobs": NSNull()]], "usage": usage,
            ])
        }
        func chunk(_ delta: [String: Any], finish: String? = nil) -> String {
            let body: [String: Any] = [
                "id": id, "object": "chat.completion.chunk", "created": created, "model": call.model,
                "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]],
            ]
            return "data: \(LooseJSON.encode(body))\n\n"
        }
        var events = [chunk(["role": "assistant", "content": ""])]
        if let tool {
            events.append(chunk(["tool_calls": [["index": 0, "id": "call_mock\(call.number)", "type": "function", "function": ["name": tool, "arguments": ""]]]]))
            events.append(chunk(["tool_calls": [["index": 0, "function": ["arguments": "{}"]]]]))
        } else {
            events += call.chunks(tokens).map { chunk(["content": $0]) }
        }
        events.append(chunk([:], finish: finish))
        if ((call.json["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true {
            let body: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": call.model, "choices": [], "usage": usage]
            events.append("data: \(LooseJSON.encode(body))\n\n")
        }
        events.append("data: [DONE]\n\n")
        return call.sse(events)
    }

    static func embeddings(_ call: MockCall) -> Response {
        let inputs: [String] = (call.json["input"] as? [String]) ?? [(call.json["input"] as? String) ?? ""]
        let dimensions = max(1, min(call.json.int("dimensions") ?? call.options.embeddingDimensions, MockOptions.tokensMax))
        let data: [[String: Any]] = inputs.enumerated().map { n, text in
            ["object": "embedding", "index": n, "embedding": MockReply.embedding(text, dimensions: dimensions)]
        }
        return jsonResponse([
            "object": "list", "data": data, "model": call.model,
            "usage": ["prompt_tokens": call.promptTokens, "total_tokens": call.promptTokens],
        ])
    }

    static func models(_ names: [String]) -> Response {
        jsonResponse(["object": "list", "data": names.map { ["id": $0, "object": "model", "created": 0, "owned_by": "mockllm"] }])
    }
}
