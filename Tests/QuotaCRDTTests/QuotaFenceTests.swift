import Testing
@testable import QuotaCRDT

/// A member whose own record of a window is lost fails closed there (`QuotaFence`).
@Suite struct QuotaFenceTests {
    let spec = QuotaSpec(id: QuotaID(lane: .app, subject: "app:crm", name: "rate"), period: .tenSeconds, caps: Caps(requests: 90))
    let other = QuotaSpec(id: QuotaID(lane: .user, subject: "user:ana", name: "rate"), period: .tenSeconds, caps: Caps(requests: 90))
    let now: Int64 = 1_800_000_000_000
    var key: WindowKey { WindowKey(quota: spec.id, period: .tenSeconds, start: Period.tenSeconds.window(containing: now).start) }

    /// In a fenced window the member admits nothing, gives nothing and asks for nothing;
    /// other windows are untouched.
    @Test func aFencedWindowAdmitsGivesAndAsksNothing() {
        var ledger = QuotaLedger(member: 1)
        ledger.fence(QuotaFence(keys: [key]))
        guard case .failure(let refusal) = ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now) else {
            Issue.record("a fenced window admitted"); return
        }
        #expect(refusal.unit == "requests")
        #expect(ledger.spare(in: key) == .zero)
        #expect(ledger.shortfall(in: key, for: Usage(requests: 1)) == .zero, "more rights would only be stranded")
        #expect(ledger.grantRights(in: key, to: 2, requested: Usage(requests: 5)) == .zero)
        #expect(ledger.beginHandBack(to: [2, 3]).isEmpty)
        #expect((try? ledger.reserve(Usage(requests: 1), against: [other], members: [1, 2, 3], now: now).get()) != nil)
    }

    /// A fence set after windows are held applies to them too; one that covers every
    /// window started before an instant spares the windows that start later.
    @Test func aBlanketFenceCoversOlderWindowsOnly() {
        var ledger = QuotaLedger(member: 1)
        _ = try? ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now).get()
        ledger.fence(QuotaFence(startedBefore: now + 1))
        #expect(ledger.isFenced(key))
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [other], members: [1, 2, 3], now: now) else {
            Issue.record("a window that began before the fence admitted"); return
        }
        let later = now + 10_000
        #expect((try? ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: later).get()) != nil)
    }

    @Test func theEncodingRoundTripsAndRefusesDamage() {
        var fence = QuotaFence(keys: [key], startedBefore: now)
        fence.widen(with: QuotaFence(keys: [WindowKey(quota: other.id, period: .tenSeconds, start: key.start)]))
        let bytes = fence.encoded()
        #expect(QuotaFence.decode(bytes) == fence)
        #expect(QuotaFence.decode(QuotaFence().encoded()) == QuotaFence())
        for length in 0..<bytes.count { #expect(QuotaFence.decode(Array(bytes.prefix(length))) == nil, "truncated at \(length)") }
        #expect(QuotaFence.decode(bytes + [0]) == nil, "trailing bytes")
        var lying = bytes
        lying[10...13] = [0xFF, 0xFF, 0xFF, 0xFF]  // a key count past keysMax
        #expect(QuotaFence.decode(lying) == nil)
    }

    /// Fenced keys are bounded: past `keysMax` the fence widens to everything older, and
    /// keys of windows that ended are dropped.
    @Test func theFenceStaysBounded() {
        var fence = QuotaFence()
        let many = (0...QuotaFence.keysMax).map { WindowKey(quota: spec.id, period: .tenSeconds, start: key.start - Int64($0) * 10_000) }
        fence.widen(with: QuotaFence(keys: Set(many)))
        #expect(fence.keys.isEmpty && fence.startedBefore == key.start + 1)
        #expect(fence.covers(key) && !fence.covers(WindowKey(quota: spec.id, period: .tenSeconds, start: key.start + 10_000)))
        var ended = QuotaFence(keys: [key])
        ended.dropEnded(now: key.start + 10_000)
        #expect(ended.isEmpty)
        var live = QuotaFence(keys: [key])
        live.dropEnded(now: key.start + 9_999)
        #expect(live.keys == [key])
    }
}
