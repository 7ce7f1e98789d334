import Testing
@testable import QuotaCRDT

/// The limits an admitted request's answer tells: per unit, the quota with the least left.
@Suite struct RateLimitsTests {
    let now: Int64 = 1_800_000_000_000
    func spec(_ name: String, _ period: Period, _ caps: Caps) -> QuotaSpec {
        QuotaSpec(id: QuotaID(lane: .user, subject: "user:ann", name: name), period: period, caps: caps)
    }

    @Test func theQuotaWithLeastLeftBindsPerUnit() throws {
        var ledger = QuotaLedger(member: 1)
        let minute = spec("rpm", .minute, Caps(requests: 10, tokens: 1_000_000))
        let day = spec("day", .day, Caps(requests: 1_000, tokens: 500))
        let spend = spec("spend", .day, Caps(microUSD: 5))
        let first = try ledger.reserve(Usage(requests: 1, tokens: 100), against: [minute, day, spend], members: [1], now: now).get()
        let limits = ledger.rateLimits(of: first)
        #expect(limits.requests == RateLimit(limit: 10, remaining: 9, resetsAt: Period.minute.window(containing: now).end))
        #expect(limits.tokens == RateLimit(limit: 500, remaining: 400, resetsAt: Period.day.window(containing: now).end))
        // Settled usage above the estimate counts; a second reservation counts while open.
        ledger.settle(first, actual: Usage(requests: 1, tokens: 450))
        let second = try ledger.reserve(Usage(requests: 1, tokens: 10), against: [minute, day], members: [1], now: now).get()
        #expect(ledger.rateLimits(of: second).tokens?.remaining == 40)
        #expect(ledger.rateLimits(of: second).requests?.remaining == 8)
        ledger.cancel(second)
        #expect(ledger.rateLimits(of: second) == RateLimits(), "an ended reservation tells nothing")
    }

    @Test func onATieTheLaterResetBindsAndNothingGoesNegative() throws {
        var ledger = QuotaLedger(member: 1)
        let minute = spec("rpm", .minute, Caps(requests: 2))
        let hour = spec("rph", .hour, Caps(requests: 2))
        let id = try ledger.reserve(Usage(requests: 1), against: [minute, hour], members: [1], now: now).get()
        #expect(ledger.rateLimits(of: id).requests?.resetsAt == Period.hour.window(containing: now).end)
        // Usage reported above the cap (a provider's count) leaves 0, not a negative.
        ledger.settle(id, actual: Usage(requests: 5))
        let refusal = ledger.reserve(Usage(requests: 1), against: [minute], members: [1], now: now)
        guard case let .failure(refused) = refusal else { Issue.record("over the cap: refused"); return }
        #expect(refused.rateLimits.requests == RateLimit(limit: 2, remaining: 0, resetsAt: Period.minute.window(containing: now).end))
        #expect(refused.rateLimits.tokens == nil, "tokens are not capped")
    }

    @Test func aRefusalLeavesNothingInItsUnitAndAKeysQuotaIsNotTold() throws {
        // Two members split 10: member 1 has used its 5 and heard of nothing else. It
        // refuses with 5 of the cap unused as far as it knows; the caller is told 0.
        var ledger = QuotaLedger(member: 1)
        let minute = spec("rpm", .minute, Caps(requests: 10, tokens: 1_000))
        for _ in 0..<5 { _ = try ledger.reserve(Usage(requests: 1, tokens: 1), against: [minute], members: [1, 2], now: now).get() }
        guard case let .failure(refused) = ledger.reserve(Usage(requests: 1, tokens: 1), against: [minute], members: [1, 2], now: now) else {
            Issue.record("member 1's share is spent: refused"); return
        }
        #expect(refused.unit == "requests" && refused.rateLimits.requests?.remaining == 0)
        #expect(refused.rateLimits.tokens?.remaining == 995, "the unit that did not refuse tells what is left")
        let key = QuotaSpec(id: QuotaID(lane: .key, subject: "key:openai:prod", name: "rpm"), period: .minute, caps: Caps(requests: 3))
        let id = try ledger.reserve(Usage(requests: 1), against: [key], members: [1], now: now).get()
        #expect(ledger.rateLimits(of: id) == RateLimits(), "a shared key's figures are not the caller's")
    }
}
