import Testing
@testable import QuotaCRDT

@Suite struct QuotaLedgerTests {
    let alice = QuotaSpec(id: QuotaID(lane: .user, subject: "user:alice", name: "rpm"), period: .minute, caps: Caps(requests: 10))
    let team = QuotaSpec(id: QuotaID(lane: .org, subject: "org:acme", name: "budget"), period: .day, caps: Caps(microUSD: 1_000))
    let now: Int64 = 1_800_000_000_000

    @Test func reservationsAreAllOrNothingAcrossQuotas() {
        var ledger = QuotaLedger(member: 1)
        let ok = ledger.reserve(Usage(requests: 1, microUSD: 600), against: [alice, team], members: [1], now: now)
        #expect((try? ok.get()) != nil)
        // The org budget refuses the second; alice's window must not keep its reservation.
        let refused = ledger.reserve(Usage(requests: 1, microUSD: 600), against: [alice, team], members: [1], now: now)
        guard case let .failure(refusal) = refused else { Issue.record("should be refused"); return }
        #expect(refusal.quota == team.id && refusal.unit == "micro_usd" && refusal.used.microUSD == 600)
        #expect(refusal.resetsAt == Period.day.window(containing: now).end)
        #expect(refusal.description.contains("org:org:acme/budget"))
        let aliceKey = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        #expect(ledger.spare(in: aliceKey).requests == 9, "the refused request left nothing reserved")
    }

    /// A refusal can be stale by the time the service decides to wait: what freed rights in
    /// between (a cancel here) makes `admits` true, and the service tries again instead of
    /// refusing with no shortfall (a false 429 seen once in the failover test).
    @Test func admitsSeesRightsFreedAfterARefusal() throws {
        var ledger = QuotaLedger(member: 1)
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        var held: [ReservationID] = []
        for _ in 0..<10 { held.append(try ledger.reserve(Usage(requests: 1), against: [alice], members: [1], now: now).get()) }
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [alice], members: [1], now: now) else {
            Issue.record("the 11th of 10 must be refused"); return
        }
        #expect(!ledger.admits(Usage(requests: 1), in: key))
        #expect(ledger.shortfall(in: key, for: Usage(requests: 1)) == Usage(requests: 1))
        ledger.cancel(held[0])
        #expect(ledger.admits(Usage(requests: 1), in: key) && ledger.shortfall(in: key, for: Usage(requests: 1)) == .zero)
        #expect(!ledger.admits(Usage(requests: 2), in: key), "one freed right admits one request, not two")
        let unknown = WindowKey(quota: team.id, period: .day, start: 0)
        #expect(!ledger.admits(Usage(requests: 1), in: unknown), "a window the ledger never met admits nothing")
        // A settled request keeps its right: nothing was freed.
        ledger.settle(held[1], actual: Usage(requests: 1))
        #expect(ledger.admits(Usage(requests: 1), in: key) && !ledger.admits(Usage(requests: 2), in: key))
    }

    /// A request refused in one window may also be blocked by a later quota whose window
    /// is spent everywhere. Naming the first would make the caller wait for rights that
    /// cannot help, and tell the client a quota with room left is exhausted (the simulator
    /// found requests refused that way at 36 of 129 in a requests window: the tokens
    /// window was the one out).
    @Test func aRefusalNamesTheQuotaThatIsSpentNotOneWithRoomElsewhere() throws {
        var ledger = QuotaLedger(member: 1)
        let quotas = [alice, team]  // 10 requests a minute and 1,000 µ$ a day, each split over [1, 2]
        let estimate = Usage(requests: 1, microUSD: 100)
        for _ in 0..<5 { _ = try ledger.reserve(estimate, against: quotas, members: [1, 2], now: now).get() }
        // Member 1's shares are used up in both; member 2's are untouched: the first names alice.
        guard case let .failure(first) = ledger.reserve(estimate, against: quotas, members: [1, 2], now: now) else {
            Issue.record("the sixth must be refused"); return
        }
        #expect(first.quota == alice.id && !ledger.isSpent(first.window, for: estimate))
        // Member 2 spent its share of the team budget: that window is out, alice's is not.
        let day = Period.day.window(containing: now)
        let teamKey = WindowKey(quota: team.id, period: .day, start: day.start)
        var counter = EscrowCounter()
        counter.addUsed(Usage(microUSD: 500), by: 2)
        _ = ledger.merge(WindowUpdate(key: teamKey, members: [1, 2], end: day.end, caps: team.caps, counter: counter))
        guard case let .failure(named) = ledger.reserve(estimate, against: quotas, members: [1, 2], now: now) else {
            Issue.record("still refused"); return
        }
        #expect(named.quota == team.id && named.unit == "micro_usd" && named.window == teamKey)
        #expect(ledger.isSpent(teamKey, for: estimate))
        // Nothing was reserved by the refusals.
        let aliceKey = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        #expect(ledger.openReservations == 5 && ledger.spare(in: aliceKey) == .zero)
        // Neither spent: the first is named, however full the other. Member 2 is known to
        // have used 100 of its 500 µ$ here: team (a day) is at 600 of 1,000 as known, alice
        // (a minute) at 5 of 10 requests; naming the day window would send the client away
        // until tomorrow for a minute window that only waits for rights.
        var other = QuotaLedger(member: 1)
        for _ in 0..<5 { _ = try other.reserve(estimate, against: quotas, members: [1, 2], now: now).get() }
        var some = EscrowCounter()
        some.addUsed(Usage(microUSD: 100), by: 2)
        _ = other.merge(WindowUpdate(key: teamKey, members: [1, 2], end: day.end, caps: team.caps, counter: some))
        guard case let .failure(fuller) = other.reserve(estimate, against: quotas, members: [1, 2], now: now) else {
            Issue.record("refused too"); return
        }
        #expect(!other.isSpent(teamKey, for: estimate) && fuller.quota == alice.id)
        // A window the ledger never met is not called spent: nothing is known of it.
        #expect(!ledger.isSpent(WindowKey(quota: team.id, period: .day, start: 0), for: estimate))
    }

    /// A refused request asks for every window it lacks rights in at once: asked one
    /// refusal after another, a request whose windows all needed rights spent a round trip
    /// on each and could run out of its wait (the faithful simulator showed first refusals
    /// at 7 % of a pooled cap).
    @Test func aRefusedRequestFindsEveryWindowItLacksRightsIn() {
        var ledger = QuotaLedger(member: 1)
        let quotas = [alice, team]
        let pooled: (Int64) -> [UInt64] = { _ in [QuotaLedger.poolMember] }
        guard case let .failure(refusal) = ledger.reserve(Usage(requests: 1, microUSD: 10), against: quotas, now: now, membersAt: pooled) else {
            Issue.record("a pooled window gives no base share"); return
        }
        #expect(refusal.quota == alice.id, "both are empty: the first is named")
        let lacking = ledger.lackingWindows(for: Usage(requests: 1, microUSD: 10), against: quotas, now: now, skipping: refusal.window, membersAt: pooled)
        let teamKey = WindowKey(quota: team.id, period: .day, start: Period.day.window(containing: now).start)
        #expect(lacking.count == 1 && lacking.first?.key == teamKey && lacking.first?.shortfall == Usage(microUSD: 10),
                "the team window, met only now, lacks 10 µ$: \(lacking)")
        #expect(ledger.isPooled(teamKey) && !ledger.isSpent(teamKey, for: Usage(microUSD: 10)), "the pool holds all of it")
        let none = ledger.lackingWindows(for: .zero, against: quotas, now: now, skipping: refusal.window, membersAt: pooled)
        #expect(none.isEmpty, "nothing lacks for nothing")
    }

    @Test func settleAndCancelHappenExactlyOnce() throws {
        var ledger = QuotaLedger(member: 1)
        let id = try ledger.reserve(Usage(requests: 1), against: [alice], members: [1], now: now).get()
        let first = ledger.settle(id, actual: Usage(requests: 1))
        let second = ledger.settle(id, actual: Usage(requests: 1))
        let cancelAfterSettle = ledger.cancel(id)
        #expect(first && !second && !cancelAfterSettle, "a reservation settles exactly once")
        let other = try ledger.reserve(Usage(requests: 1), against: [alice], members: [1], now: now).get()
        let cancelled = ledger.cancel(other)
        #expect(cancelled && ledger.openReservations == 0)
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        #expect(ledger.usage(in: key).requests == 1)
    }

    @Test func aCapIsSplitOverMembersAndRightsMoveOnRequest() throws {
        var a = QuotaLedger(member: 1)
        var b = QuotaLedger(member: 2)
        // 10 requests over two members: 5 each.
        for _ in 0..<5 { _ = try a.reserve(Usage(requests: 1), against: [alice], members: [1, 2], now: now).get() }
        guard case .failure = a.reserve(Usage(requests: 1), against: [alice], members: [1, 2], now: now) else {
            Issue.record("a's share is 5"); return
        }
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        _ = b.reserve(.zero, against: [alice], members: [1, 2], now: now)  // b meets the window
        #expect(a.shortfall(in: key, for: Usage(requests: 2)) == Usage(requests: 2))
        let granted = b.grantRights(in: key, to: 1, requested: Usage(requests: 2))
        #expect(granted == Usage(requests: 2))
        for update in b.updates() { a.merge(update) }
        #expect(a.rights(in: key).requests == 7 && b.rights(in: key).requests == 3)
        _ = try a.reserve(Usage(requests: 2), against: [alice], members: [1, 2], now: now).get()
        // b cannot give away what it reserved.
        _ = try b.reserve(Usage(requests: 3), against: [alice], members: [1, 2], now: now).get()
        #expect(b.grantRights(in: key, to: 1, requested: Usage(requests: 1)) == .zero)
    }

    /// A short member keeps what its waiting requests need from higher ids and gives all
    /// its spare to lower ids, so the last rights gather at one member.
    @Test func aShortMemberYieldsOnlyToLowerIds() {
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        var two = QuotaLedger(member: 2)
        _ = two.reserve(.zero, against: [alice], members: [1, 2, 3], now: now)  // a share of 3 (10 = 4 + 3 + 3)
        #expect(two.grantRights(in: key, to: 3, requested: Usage(requests: 3), waiting: Usage(requests: 2)) == Usage(requests: 1))
        #expect(two.grantRights(in: key, to: 1, requested: Usage(requests: 3), waiting: Usage(requests: 2)) == Usage(requests: 2))
        #expect(two.spare(in: key) == .zero)
    }

    /// A top-up never takes a member's own headroom (four of its latest estimates), so
    /// equally busy members do not pull rights back and forth.
    @Test func aTopUpLeavesTheGiverItsHeadroom() throws {
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        var one = QuotaLedger(member: 1)
        _ = try one.reserve(Usage(requests: 1), against: [alice], members: [1], now: now).get()  // 9 spare
        #expect(one.grantRights(in: key, to: 2, requested: Usage(requests: 9), kind: .topUp) == Usage(requests: 5))
        #expect(one.grantRights(in: key, to: 2, requested: Usage(requests: 9), kind: .topUp) == .zero)
        #expect(one.grantRights(in: key, to: 2, requested: Usage(requests: 9), kind: .urgent) == Usage(requests: 4))
    }

    /// Gossip sends the windows whose counters changed since a generation; merging what a
    /// member already knows changes nothing, so gossip does not echo back and forth.
    @Test func onlyChangedWindowsAreSentAgain() throws {
        var a = QuotaLedger(member: 1)
        var b = QuotaLedger(member: 2)
        let id = try a.reserve(Usage(requests: 1, microUSD: 5), against: [alice, team], members: [1, 2], now: now).get()
        #expect(a.updates(changedAfter: 0).isEmpty, "a reservation alone is not gossiped")
        a.settle(id, actual: Usage(requests: 1, microUSD: 5))
        let sent = a.generation
        let first = a.updates(changedAfter: 0)
        #expect(first.count == 2)
        for update in first { b.merge(update) }
        let seen = b.generation
        for update in first { b.merge(update) }
        #expect(b.generation == seen, "merging known state changes nothing")
        #expect(a.updates(changedAfter: sent).isEmpty)
        let other = try a.reserve(Usage(requests: 1), against: [alice], members: [1, 2], now: now).get()
        a.settle(other, actual: Usage(requests: 1))
        #expect(a.updates(changedAfter: sent).map(\.key.quota) == [alice.id])
    }

    /// A cap lowered mid-window: a member past its new share keeps its usage, and the
    /// others stop at the new cap as soon as they know that usage.
    @Test func aLoweredCapHoldsOnceUsageIsKnown() throws {
        var spec = QuotaSpec(id: QuotaID(lane: .app, subject: "app:crm", name: "hourly"), period: .hour, caps: Caps(requests: 100))
        var a = QuotaLedger(member: 1)
        var b = QuotaLedger(member: 2)
        for _ in 0..<50 {
            let id = try a.reserve(Usage(requests: 1), against: [spec], members: [1, 2], now: now).get()
            a.settle(id, actual: Usage(requests: 1))
        }
        for update in a.updates() { b.merge(update) }
        spec.caps = Caps(requests: 60)  // a new revision: shares of 30 each, a is 20 past its own
        var admitted = 0
        while case let .success(id) = b.reserve(Usage(requests: 1), against: [spec], members: [1, 2], now: now) {
            b.settle(id, actual: Usage(requests: 1))
            admitted += 1
        }
        #expect(admitted == 10, "50 used by a, so b may add only 10 under the new cap of 60, not its share of 30")
        guard case let .failure(refusal) = a.reserve(Usage(requests: 1), against: [spec], members: [1, 2], now: now) else {
            Issue.record("a is past its new share"); return
        }
        #expect(refusal.caps.requests == 60)
    }

    @Test func drainingHandsSpareRightsBack() {
        var leaving = QuotaLedger(member: 3)
        _ = leaving.reserve(Usage(requests: 1), against: [alice], members: [1, 2, 3], now: now)
        let key = WindowKey(quota: alice.id, period: .minute, start: Period.minute.window(containing: now).start)
        // Share of 3 is 3 (10 = 4 + 3 + 3); 1 reserved, 2 spare: one each to 1 and 2.
        leaving.handBackRights(to: [1, 2, 3])
        var one = QuotaLedger(member: 1)
        _ = one.reserve(.zero, against: [alice], members: [1, 2, 3], now: now)
        for update in leaving.updates() { one.merge(update) }
        #expect(one.rights(in: key).requests == 5)
        #expect(leaving.spare(in: key) == .zero)
    }

    @Test func expiredWindowsAreDroppedButNotWhileReserved() throws {
        var ledger = QuotaLedger(member: 1)
        let id = try ledger.reserve(Usage(requests: 1), against: [alice], members: [1], now: now).get()
        let later = now + 10 * 60_000
        let whileReserved = ledger.expire(now: later, graceMilliseconds: 60_000).count
        #expect(whileReserved == 0, "an open reservation keeps the window")
        ledger.settle(id, actual: Usage(requests: 1))
        let afterwards = ledger.expire(now: later, graceMilliseconds: 60_000).count
        #expect(afterwards == 1)
        #expect(ledger.windowCount == 0)
    }
}
