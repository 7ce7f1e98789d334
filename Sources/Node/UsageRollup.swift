import Foundation
import Gateway

/// Usage summed per minute, per user, model and provider: what period totals, per-day
/// costs and top-spender answers read instead of every event.
struct UsageRollup: Codable, Equatable, Sendable {
    var requests = 0
    var inputTokens = 0
    var outputTokens = 0
    var microUSD: Int64 = 0
    var errors = 0
    var cacheHits = 0

    mutating func add(_ event: UsageEvent) {
        requests += 1
        inputTokens += event.inputTokens
        outputTokens += event.outputTokens
        microUSD += event.microUSD
        if event.status >= 400 { errors += 1 }
        if event.cached { cacheHits += 1 }
    }

    mutating func add(_ other: UsageRollup) {
        requests += other.requests
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        microUSD += other.microUSD
        errors += other.errors
        cacheHits += other.cacheHits
    }

    /// The minute (ms since the epoch, floored) an event counts in.
    static func minute(of time: Int64) -> Int64 { time - ((time % 60_000) + 60_000) % 60_000 }

    /// The events of a flush, summed by rollup key.
    static func sums(_ events: [UsageEvent]) -> [[UInt8]: UsageRollup] {
        var sums: [[UInt8]: UsageRollup] = [:]
        for event in events {
            sums[key(minute: minute(of: event.time), user: event.user ?? "-", model: event.model ?? "-", provider: event.provider ?? "-"), default: UsageRollup()]
                .add(event)
        }
        return sums
    }

    /// The minute, big-endian (so keys sort by time), then user, model and provider.
    static func key(minute: Int64, user: String, model: String, provider: String) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: minute).bigEndian, Array.init) + Array("\(user)\u{1f}\(model)\u{1f}\(provider)".utf8)
    }

    /// A key's minute, user, model and provider.
    static func parse(_ key: [UInt8]) -> (minute: Int64, user: String, model: String, provider: String)? {
        guard key.count > 8 else { return nil }
        let minute = Int64(bitPattern: key[0..<8].reduce(0) { $0 << 8 | UInt64($1) })
        let parts = String(decoding: key[8...], as: UTF8.self).split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        return (minute, parts[0], parts[1], parts[2])
    }
}
