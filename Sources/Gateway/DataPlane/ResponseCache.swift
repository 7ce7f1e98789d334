import Crypto
import Foundation
import Synchronization

/// The node's exact-match response cache: the whole answer to a deterministic request
/// (temperature 0, or an embedding), kept for the settings' TTL and served to an identical
/// request in the same namespace. Answers are kept as the client's dialect sees them, with
/// DLP placeholders still in (the request's own values are put back on the way out).
final class ResponseCache: Sendable {
    /// Entries kept at most; the oldest go first.
    static let entriesMax = 10_000
    /// The largest answer kept.
    static let entryBytesMax = 1 << 20
    /// Bytes kept at most over all entries.
    static let totalBytesMax = 256 << 20

    struct Entry: Sendable {
        var bytes: [UInt8]
        var model: String
        var expiresAt: Int64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var bytes = 0
    }

    private let state = Mutex(State())

    func get(_ key: String, now: Int64) -> Entry? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expiresAt > now else {
                state.entries[key] = nil
                state.bytes -= entry.bytes.count
                return nil
            }
            return entry
        }
    }

    func put(_ key: String, _ entry: Entry) {
        guard entry.bytes.count <= Self.entryBytesMax else { return }
        state.withLock { state in
            if let old = state.entries[key] { state.bytes -= old.bytes.count } else { state.order.append(key) }
            state.entries[key] = entry
            state.bytes += entry.bytes.count
            while state.entries.count > Self.entriesMax || state.bytes > Self.totalBytesMax, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                if let gone = state.entries.removeValue(forKey: oldest) { state.bytes -= gone.bytes.count }
            }
            if state.order.count > 2 * Self.entriesMax { state.order = state.order.filter { state.entries[$0] != nil } }
        }
    }

    /// Whether a request's answer does not depend on chance: an embedding, or a completion
    /// asked for at temperature 0 with a single choice.
    static func isDeterministic(_ endpoint: ClientEndpoint, _ body: [String: Any]) -> Bool {
        if endpoint == .embeddings { return true }
        guard let temperature = body["temperature"] as? NSNumber, temperature.doubleValue == 0 else { return false }
        return ((body["n"] as? NSNumber)?.intValue ?? 1) == 1
    }

    /// SHA-256 of the endpoint, namespace, routed model and the request in canonical JSON
    /// (sorted keys), without the fields that do not change the answer.
    static func key(_ endpoint: ClientEndpoint, namespace: String, model: String, body: [String: Any]) -> String? {
        var canonical = body
        for field in ["stream", "stream_options", "user", "metadata"] { canonical[field] = nil }
        guard let json = JSONField.encode(canonical, sorted: true) else { return nil }
        var hasher = SHA256()
        hasher.update(data: Array("\(endpoint.name)\n\(namespace)\n\(model)\n".utf8))
        hasher.update(data: json)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
