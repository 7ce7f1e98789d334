import Gateway

/// The keys of `usage_rollups`: usage summed per minute, per user, model and provider
/// (`UsageTotals`), what period totals, per-day costs and top-spender answers read
/// instead of every event.
enum UsageRollup {
    /// The minute (ms since the epoch, floored) an event counts in.
    static func minute(of time: Int64) -> Int64 { UsageBucket.minute.start(of: time) }

    /// The events of a flush, summed by rollup key.
    static func sums(_ events: [UsageEvent]) -> [[UInt8]: UsageTotals] {
        var sums: [[UInt8]: UsageTotals] = [:]
        for event in events {
            sums[key(minute: minute(of: event.time), user: event.user ?? "-", model: event.model ?? "-", provider: event.provider ?? "-"), default: UsageTotals()]
                .add(event)
        }
        return sums
    }

    /// The minute, big-endian (so keys sort by time), then user, model and provider.
    static func key(minute: Int64, user: String, model: String, provider: String) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: minute).bigEndian, Array.init) + Array("\(user)\u{1f}\(model)\u{1f}\(provider)".utf8)
    }

    /// The first key of `minute`.
    static func key(minute: Int64) -> [UInt8] { withUnsafeBytes(of: UInt64(bitPattern: minute).bigEndian, Array.init) }

    /// A key's minute, user, model and provider.
    static func parse(_ key: [UInt8]) -> (minute: Int64, user: String, model: String, provider: String)? {
        guard key.count > 8 else { return nil }
        let minute = Int64(bitPattern: key[0..<8].reduce(0) { $0 << 8 | UInt64($1) })
        let parts = String(decoding: key[8...], as: UTF8.self).split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        return (minute, parts[0], parts[1], parts[2])
    }
}
