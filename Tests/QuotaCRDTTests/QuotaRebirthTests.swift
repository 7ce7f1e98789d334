import Testing
@testable import QuotaCRDT

/// A member reborn under an old id (wiped disk, removed, joined back) must not spend its
/// earlier life's rights again: found by the chaos harness (two nodes replaced within one
/// minute window admitted 152 and 160 of a cap of 150).
@Suite struct QuotaRebirthTests {
    static let now: Int64 = 1_800_000_000_000
    let spec = QuotaSpec(id: QuotaID(lane: .token, subject: "tok_a", name: "burst"), period: .minute, caps: Caps(requests: 10))
    var key: WindowKey { WindowKey(quota: spec.id, period: .minute, start: Period.minute.window(containing: Self.now).start) }
    let pooled = [QuotaLedger.poolMember]

    /// The pool gave member 2 rights for 4 requests, and 2 used them; member 1 heard.
    private func earlierLife() -> (pool: QuotaPool, peer: QuotaLedger) {
        var pool = QuotaPool()
        _ = pool.apply([.init(key: key, receiver: 2, amount: Usage(requests: 4))], time: Self.now) { _ in Caps(requests: 10) }
        var old = QuotaLedger(member: 2)
        _ = old.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        for _ in 0..<4 {
            guard case .success(let id) = old.reserve(Usage(requests: 1), against: [spec], members: pooled, now: Self.now) else {
                Issue.record("the earlier life could not admit"); return (pool, QuotaLedger(member: 1))
            }
            old.settle(id, actual: Usage(requests: 1))
        }
        var peer = QuotaLedger(member: 1)
        for update in old.updates() { _ = peer.merge(update) }
        return (pool, peer)
    }

    @Test func withoutTheFenceARebornMemberSpendsItsRightsTwice() {
        let (pool, _) = earlierLife()
        var reborn = QuotaLedger(member: 2)
        _ = reborn.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        #expect(!reborn.earlierLife(of: 2, inWindowsStartedBefore: Self.now + 1).isEmpty)
        // What the bug was: the pool's allocation reads as unused rights.
        #expect((try? reborn.reserve(Usage(requests: 1), against: [spec], members: pooled, now: Self.now + 1).get()) != nil)
    }

    @Test func theEvidenceComesFromThePoolOrFromPeers() {
        let (pool, peer) = earlierLife()
        var fromPool = QuotaLedger(member: 2)
        _ = fromPool.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        #expect(!fromPool.earlierLife(of: 2, inWindowsStartedBefore: Self.now + 1).isEmpty)
        var fromGossip = QuotaLedger(member: 2)
        for update in peer.updates() { _ = fromGossip.merge(update) }
        #expect(!fromGossip.earlierLife(of: 2, inWindowsStartedBefore: Self.now + 1).isEmpty)
        // A window that started after the rebirth is no evidence, and another id has none.
        #expect(fromGossip.earlierLife(of: 2, inWindowsStartedBefore: key.start).isEmpty)
        #expect(fromGossip.earlierLife(of: 4, inWindowsStartedBefore: Self.now + 1).isEmpty)
    }

    @Test func aVoterSplitWindowOverTheIdIsEvidenceToo() {
        var reborn = QuotaLedger(member: 2)
        _ = try? reborn.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: Self.now).get()
        #expect(!reborn.earlierLife(of: 2, inWindowsStartedBefore: Self.now + 1).isEmpty, "a base share was the earlier life's")
    }

    @Test func theFenceHoldsWhereThereIsEvidenceAndLiftsForANewId() {
        let (pool, _) = earlierLife()
        let reborn = Self.now + 1
        var ledger = QuotaLedger(member: 2)
        ledger.fence(QuotaFence(startedBefore: reborn))
        _ = ledger.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [spec], members: pooled, now: reborn) else {
            Issue.record("a reborn member admitted in a window of its earlier life"); return
        }
        // The next window is its own.
        #expect((try? ledger.reserve(Usage(requests: 1), against: [spec], members: pooled, now: key.start + 60_000).get()) != nil
                || ledger.shortfall(in: WindowKey(quota: spec.id, period: .minute, start: key.start + 60_000), for: Usage(requests: 1)) != .zero)
        // A new id joining at the same time: no evidence, the fence is lifted, it may ask the pool.
        var newcomer = QuotaLedger(member: 4)
        newcomer.fence(QuotaFence(startedBefore: reborn))
        _ = newcomer.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        #expect(newcomer.isFenced(key))
        #expect(newcomer.earlierLife(of: 4, inWindowsStartedBefore: reborn).isEmpty)
        newcomer.fence(QuotaFence())
        #expect(!newcomer.isFenced(key))
        #expect(newcomer.shortfall(in: key, for: Usage(requests: 1)) != .zero, "unfenced, it asks for rights")
    }

    /// Only the windows the earlier life was in stay fenced: another quota's window that
    /// began before the rebirth is served.
    @Test func onlyTheWindowsOfTheEarlierLifeStayFenced() {
        let (pool, _) = earlierLife()
        let otherSpec = QuotaSpec(id: QuotaID(lane: .token, subject: "tok_b", name: "burst"), period: .minute, caps: Caps(requests: 10))
        let otherKey = WindowKey(quota: otherSpec.id, period: .minute, start: key.start)
        var ledger = QuotaLedger(member: 2)
        ledger.fence(QuotaFence(startedBefore: Self.now + 1))
        _ = ledger.merge(pool.update(for: key, caps: Caps(requests: 10))!)
        _ = ledger.shortfall(in: otherKey, for: Usage(requests: 1))
        let found = ledger.earlierLife(of: 2, inWindowsStartedBefore: Self.now + 1)
        #expect(found == [key])
        ledger.fence(QuotaFence(keys: found))
        #expect(ledger.isFenced(key) && !ledger.isFenced(otherKey))
    }
}
