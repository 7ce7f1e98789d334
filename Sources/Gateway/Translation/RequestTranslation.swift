import Foundation

/// Requests between the two dialects: an Anthropic Messages request as OpenAI chat
/// completions and back, tools and tool results included. JSON objects in, JSON objects
/// out; fields one dialect has and the other lacks are dropped.
enum RequestTranslation {
    // MARK: Anthropic → OpenAI

    static func openAI(fromAnthropic body: [String: Any]) -> [String: Any] {
        var messages: [[String: Any]] = []
        if let system = body["system"] {
            let text = Self.text(of: system)
            if !text.isEmpty { messages.append(["role": "system", "content": text]) }
        }
        for message in body["messages"] as? [[String: Any]] ?? [] {
            let role = message["role"] as? String ?? "user"
            guard let blocks = message["content"] as? [[String: Any]] else {
                messages.append(["role": role, "content": message["content"] as? String ?? ""])
                continue
            }
            // Tool results become `tool` messages; the rest of a user turn stays a user message.
            var texts: [String] = [], toolCalls: [[String: Any]] = []
            for block in blocks {
                switch block["type"] as? String {
                case "text": texts.append(block["text"] as? String ?? "")
                case "tool_use":
                    let arguments = JSONField.encode(block["input"] ?? [String: Any](), sorted: true).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                    toolCalls.append(["id": block["id"] as? String ?? "", "type": "function", "function": ["name": block["name"] as? String ?? "", "arguments": arguments]])
                case "tool_result":
                    messages.append(["role": "tool", "tool_call_id": block["tool_use_id"] as? String ?? "", "content": Self.text(of: block["content"])])
                default: break
                }
            }
            if role == "assistant" {
                var out: [String: Any] = ["role": "assistant", "content": texts.isEmpty ? NSNull() : texts.joined(separator: "\n")]
                if !toolCalls.isEmpty { out["tool_calls"] = toolCalls }
                messages.append(out)
            } else if !texts.isEmpty {
                messages.append(["role": role, "content": texts.joined(separator: "\n")])
            }
        }
        var out: [String: Any] = ["messages": messages]
        if let model = body["model"] { out["model"] = model }
        if let maxTokens = body["max_tokens"] { out["max_tokens"] = maxTokens }
        if let stop = body["stop_sequences"] { out["stop"] = stop }
        for key in ["temperature", "top_p", "stream"] { if let value = body[key] { out[key] = value } }
        if let tools = body["tools"] as? [[String: Any]] {
            out["tools"] = tools.map { tool in
                ["type": "function", "function": [
                    "name": tool["name"] as? String ?? "", "description": tool["description"] as? String ?? "",
                    "parameters": tool["input_schema"] ?? ["type": "object"],
                ] as [String: Any]]
            }
        }
        if let choice = body["tool_choice"] as? [String: Any] {
            switch choice["type"] as? String {
            case "any": out["tool_choice"] = "required"
            case "tool": out["tool_choice"] = ["type": "function", "function": ["name": choice["name"] as? String ?? ""]]
            case "none": out["tool_choice"] = "none"
            default: out["tool_choice"] = "auto"
            }
        }
        return out
    }

    // MARK: OpenAI → Anthropic

    /// `maxTokens` fills Anthropic's required `max_tokens` when the request names none.
    static func anthropic(fromOpenAI body: [String: Any], maxTokens: Int) -> [String: Any] {
        var system: [String] = []
        var messages: [[String: Any]] = []
        func append(_ role: String, _ blocks: [[String: Any]]) {
            // Anthropic wants alternating turns: consecutive same-role blocks merge.
            if let last = messages.last, last["role"] as? String == role, var content = last["content"] as? [[String: Any]] {
                content += blocks
                messages[messages.count - 1]["content"] = content
            } else {
                messages.append(["role": role, "content": blocks])
            }
        }
        for message in body["messages"] as? [[String: Any]] ?? [] {
            let text = Self.text(of: message["content"])
            switch message["role"] as? String {
            case "system", "developer": if !text.isEmpty { system.append(text) }
            case "tool":
                append("user", [["type": "tool_result", "tool_use_id": message["tool_call_id"] as? String ?? "", "content": text]])
            case "assistant":
                var blocks: [[String: Any]] = text.isEmpty ? [] : [["type": "text", "text": text]]
                for call in message["tool_calls"] as? [[String: Any]] ?? [] {
                    let function = call["function"] as? [String: Any] ?? [:]
                    let arguments = (function["arguments"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? [String: Any]()
                    blocks.append(["type": "tool_use", "id": call["id"] as? String ?? "", "name": function["name"] as? String ?? "", "input": arguments])
                }
                if !blocks.isEmpty { append("assistant", blocks) }
            default:
                append("user", [["type": "text", "text": text]])
            }
        }
        var out: [String: Any] = ["messages": messages]
        if let model = body["model"] { out["model"] = model }
        if !system.isEmpty { out["system"] = system.joined(separator: "\n") }
        out["max_tokens"] = body["max_completion_tokens"].flatMap(JSONField.integer) ?? body["max_tokens"].flatMap(JSONField.integer) ?? maxTokens
        if let stop = body["stop"] as? String { out["stop_sequences"] = [stop] } else if let stop = body["stop"] as? [String] { out["stop_sequences"] = stop }
        for key in ["temperature", "top_p", "stream"] { if let value = body[key] { out[key] = value } }
        if let tools = body["tools"] as? [[String: Any]] {
            out["tools"] = tools.compactMap { tool -> [String: Any]? in
                guard let function = tool["function"] as? [String: Any] else { return nil }
                return ["name": function["name"] as? String ?? "", "description": function["description"] as? String ?? "",
                        "input_schema": function["parameters"] ?? ["type": "object"]]
            }
        }
        if let choice = body["tool_choice"] as? String {
            switch choice {
            case "required": out["tool_choice"] = ["type": "any"]
            case "none": out["tool_choice"] = ["type": "none"]
            default: out["tool_choice"] = ["type": "auto"]
            }
        } else if let choice = body["tool_choice"] as? [String: Any], let name = (choice["function"] as? [String: Any])?["name"] as? String {
            out["tool_choice"] = ["type": "tool", "name": name]
        }
        return out
    }

    /// The text of a content value: a string, or the text of its blocks or parts.
    static func text(of content: Any?) -> String {
        if let text = content as? String { return text }
        guard let parts = content as? [[String: Any]] else { return "" }
        return parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
    }
}

/// Whole answers between the two dialects.
enum ResponseTranslation {
    static func anthropic(fromOpenAI answer: [String: Any], model: String) -> [String: Any] {
        let choice = (answer["choices"] as? [[String: Any]])?.first ?? [:]
        let message = choice["message"] as? [String: Any] ?? [:]
        var content: [[String: Any]] = []
        if let text = message["content"] as? String, !text.isEmpty { content.append(["type": "text", "text": text]) }
        for call in message["tool_calls"] as? [[String: Any]] ?? [] {
            let function = call["function"] as? [String: Any] ?? [:]
            let input = (function["arguments"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } ?? [String: Any]()
            content.append(["type": "tool_use", "id": call["id"] as? String ?? "", "name": function["name"] as? String ?? "", "input": input])
        }
        let usage = answer["usage"] as? [String: Any] ?? [:]
        return [
            "id": "msg_" + ((answer["id"] as? String) ?? UUID().uuidString), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stopReason(fromFinish: choice["finish_reason"] as? String), "stop_sequence": NSNull(),
            "usage": ["input_tokens": usage["prompt_tokens"] ?? 0, "output_tokens": usage["completion_tokens"] ?? 0],
        ]
    }

    static func openAI(fromAnthropic answer: [String: Any], model: String) -> [String: Any] {
        var texts: [String] = [], toolCalls: [[String: Any]] = []
        for block in answer["content"] as? [[String: Any]] ?? [] {
            switch block["type"] as? String {
            case "text": texts.append(block["text"] as? String ?? "")
            case "tool_use":
                let arguments = JSONField.encode(block["input"] ?? [String: Any](), sorted: true).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                toolCalls.append(["id": block["id"] as? String ?? "", "type": "function", "function": ["name": block["name"] as? String ?? "", "arguments": arguments]])
            default: break
            }
        }
        var message: [String: Any] = ["role": "assistant", "content": texts.isEmpty && !toolCalls.isEmpty ? NSNull() : texts.joined()]
        if !toolCalls.isEmpty { message["tool_calls"] = toolCalls }
        let usage = answer["usage"] as? [String: Any] ?? [:]
        // Bounded by ReportedTokens.countMax, so the sum below cannot overflow.
        let input = ReportedTokens.read(usage, "input_tokens") ?? 0, output = ReportedTokens.read(usage, "output_tokens") ?? 0
        return [
            "id": "chatcmpl-" + ((answer["id"] as? String) ?? UUID().uuidString), "object": "chat.completion",
            "created": Int(Date().timeIntervalSince1970), "model": model,
            "choices": [["index": 0, "message": message, "finish_reason": finishReason(fromStop: answer["stop_reason"] as? String), "logprobs": NSNull()]],
            "usage": ["prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output],
        ]
    }

    static func stopReason(fromFinish finish: String?) -> String {
        switch finish {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        default: "end_turn"
        }
    }

    static func finishReason(fromStop stop: String?) -> String {
        switch stop {
        case "max_tokens": "length"
        case "tool_use": "tool_calls"
        default: "stop"
        }
    }
}
