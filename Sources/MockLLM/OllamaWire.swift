import Foundation
import Hummingbird
import NIOCore

/// Ollama's native chat API: newline-delimited JSON while streaming (the default), a
/// final object with `done: true` and the counts, and the model list.
enum OllamaWire {
    static func chat(_ call: MockCall) -> Response {
        let (tokens, truncated) = call.reply
        let now = ISO8601DateFormatter().string(from: Date())
        let final: [String: Any] = [
            "model": call.model, "created_at": now, "message": ["role": "assistant", "content": call.stream ? "" : tokens.joined()],
            "done": true, "done_reason": truncated ? "length" : "stop",
            "prompt_eval_count": call.promptTokens, "eval_count": tokens.count, "total_duration": 1_000_000,
        ]
        guard call.stream else { return jsonResponse(final) }
        let lines = call.chunks(tokens).map {
            LooseJSON.encode(["model": call.model, "created_at": now, "message": ["role": "assistant", "content": $0], "done": false]) + "\n"
        } + [LooseJSON.encode(final) + "\n"]
        let delay = call.options.chunkDelay
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: ResponseBody { writer in
                for (n, line) in lines.enumerated() {
                    if n > 0 && delay > .zero { try await Task.sleep(for: delay) }
                    try await writer.write(ByteBuffer(string: line))
                }
                try await writer.finish(nil)
            })
    }

    static func tags(_ names: [String]) -> Response {
        jsonResponse(["models": names.map { ["name": $0, "model": $0, "size": 0, "digest": "mock"] }])
    }
}
