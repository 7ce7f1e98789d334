import Foundation
import NIOCore

/// Reads an OpenAI-style SSE stream as it passes through: complete events are forwarded
/// (unchanged bytes), the usage the provider reports is picked out, and the usage-only
/// chunk the gateway asked for is dropped when the client did not ask for it.
struct SSEUsageScanner {
    /// The longest event accepted before it is forwarded unparsed.
    static let eventBytesMax = 1 << 20

    let clientWantsUsage: Bool
    private(set) var promptTokens: Int?
    private(set) var completionTokens: Int?
    /// Characters of streamed content, for an estimate when no usage arrives.
    private(set) var contentCharacters = 0
    private(set) var sawDone = false
    private var pending: [UInt8] = []

    init(clientWantsUsage: Bool) { self.clientWantsUsage = clientWantsUsage }

    /// Takes upstream bytes; returns the bytes to send on.
    mutating func feed(_ buffer: ByteBuffer) -> [UInt8] {
        pending += buffer.readableBytesView
        var out: [UInt8] = []
        while let end = Self.eventEnd(in: pending) {
            let event = Array(pending[..<end])
            pending.removeFirst(end)
            if keep(event) { out += event }
        }
        if pending.count > Self.eventBytesMax {
            out += pending
            pending.removeAll()
        }
        return out
    }

    /// What is left at the end of the stream.
    mutating func finish() -> [UInt8] {
        defer { pending.removeAll() }
        return pending
    }

    /// The index after the blank line that ends the first event, if one is complete.
    private static func eventEnd(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 10 && bytes[index + 1] == 10 { return index + 2 }
            if index + 3 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index + 4 }
            index += 1
        }
        return nil
    }

    /// Notes what `event` says; false when it is the usage-only chunk the client did not ask for.
    private mutating func keep(_ event: [UInt8]) -> Bool {
        let text = String(decoding: event, as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("data:") {
            let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
            if payload == "[DONE]" {
                sawDone = true
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
            let choices = object["choices"] as? [[String: Any]] ?? []
            for choice in choices {
                if let content = (choice["delta"] as? [String: Any])?["content"] as? String { contentCharacters += content.count }
            }
            if let usage = object["usage"] as? [String: Any] {
                promptTokens = (usage["prompt_tokens"] as? NSNumber)?.intValue ?? promptTokens
                completionTokens = (usage["completion_tokens"] as? NSNumber)?.intValue ?? completionTokens
                if choices.isEmpty && !clientWantsUsage { return false }
            }
        }
        return true
    }
}
