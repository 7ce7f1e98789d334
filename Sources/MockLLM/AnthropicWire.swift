import Foundation
import Hummingbird

/// Anthropic's Messages API: a whole message, or the event stream (`message_start`,
/// `content_block_*`, `message_delta` with the output usage, `message_stop`), and
/// `count_tokens`.
enum AnthropicWire {
    static func messages(_ call: MockCall) -> Response {
        let id = "msg_mock\(call.number)"
        let (tokens, truncated) = call.reply
        let tool = call.toolToCall(nameAt: ["name"])
        let output = tool == nil ? tokens.count : 1
        let stop = tool != nil ? "tool_use" : (truncated ? "max_tokens" : "end_turn")
        let toolBlock: [String: Any]? = tool.map { ["type": "tool_use", "id": "toolu_mock\(call.number)", "name": $0, "input": [String: Any]()] }

        guard call.stream else {
            return jsonResponse([
                "id": id, "type": "message", "role": "assistant", "model": call.model,
                "content": toolBlock.map { [$0] } ?? [["type": "text", "text": tokens.joined()]],
                "stop_reason": stop, "stop_sequence": NSNull(),
                "usage": ["input_tokens": call.promptTokens, "output_tokens": output],
            ])
        }
        func event(_ name: String, _ body: [String: Any]) -> String { "event: \(name)\ndata: \(LooseJSON.encode(body))\n\n" }
        var events = [
            event("message_start", ["type": "message_start", "message": [
                "id": id, "type": "message", "role": "assistant", "model": call.model, "content": [], "stop_reason": NSNull(),
                "stop_sequence": NSNull(), "usage": ["input_tokens": call.promptTokens, "output_tokens": 1],
            ] as [String: Any]]),
        ]
        if let toolBlock {
            var start = toolBlock
            start["input"] = [String: Any]()
            events.append(event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": start]))
            events.append(event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "input_json_delta", "partial_json": "{}"]]))
        } else {
            events.append(event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]]))
            events.append(event("ping", ["type": "ping"]))
            events += call.chunks(tokens).map {
                event("content_block_delta", ["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": $0]])
            }
        }
        events.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
        events.append(event("message_delta", [
            "type": "message_delta", "delta": ["stop_reason": stop, "stop_sequence": NSNull()], "usage": ["output_tokens": output],
        ]))
        events.append(event("message_stop", ["type": "message_stop"]))
        return call.sse(events)
    }

    static func countTokens(_ call: MockCall) -> Response {
        jsonResponse(["input_tokens": call.promptTokens])
    }
}
