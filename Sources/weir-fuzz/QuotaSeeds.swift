import QuotaCRDT

/// Window updates and keys as the quota service gossips and stores them, encoded.
enum QuotaSeeds {
    /// 2026-03-02T00:00:00Z, a Monday and the start of every finite period but a month.
    static let monday: Int64 = 1_772_409_600_000

    static func key(_ lane: Lane, _ subject: String, _ name: String, _ period: Period) -> WindowKey {
        let start = period == .infinite ? Int64.min : period.window(containing: monday).start
        return WindowKey(quota: QuotaID(lane: lane, subject: subject, name: name), period: period, start: start)
    }

    static var sampleKeys: [WindowKey] {
        [
            key(.token, "tok_1", "daily", .day),
            key(.org, "org:acme", "monthly-usd", .month),
            key(.user, "user:ada", "burst", .tenSeconds),
            key(.principal, "agent:ci", "lifetime", .infinite),
        ]
    }

    static var sampleUpdates: [WindowUpdate] {
        var counter = EscrowCounter()
        counter.addUsed(Usage(requests: 3, tokens: 1_200, microUSD: 4_500), by: 1)
        counter.addUsed(Usage(requests: 1, tokens: 80, microUSD: 0), by: 2)
        counter.grant(Usage(requests: 2, tokens: 500, microUSD: 1_000), from: 3, to: 1)
        let keys = sampleKeys
        return [
            WindowUpdate(key: keys[0], members: [1, 2, 3], end: nil, caps: Caps(requests: 100, tokens: 50_000), counter: counter),
            WindowUpdate(key: keys[1], members: [1, 2], end: nil, caps: Caps(microUSD: 10_000_000), counter: EscrowCounter()),
            WindowUpdate(key: keys[3], members: [7], end: nil, caps: Caps(requests: 5, tokens: 6, microUSD: 7), counter: counter),
        ].map { update in
            // The decoder takes the end from the calendar; seed with what it would produce.
            var update = update
            update.end = update.key.period.window(containing: update.key.start).end
            return update
        }
    }

    static var updates: [[UInt8]] {
        let all = sampleUpdates
        return [WindowUpdateCodec.encode([]), WindowUpdateCodec.encode(all)] + all.map { WindowUpdateCodec.encode([$0]) }
    }

    static var keys: [[UInt8]] { sampleKeys.map(WindowUpdateCodec.encode) }
}
