import Testing
@testable import QuotaCRDT

@Suite struct DurabilityTests {
    let spec = QuotaSpec(id: QuotaID(lane: .app, subject: "app:crm", name: "rate"), period: .tenSeconds, caps: Caps(requests: 90))
    let now: Int64 = 1_800_000_000_000
    var key: WindowKey { WindowKey(quota: spec.id, period: .tenSeconds, start: Period.tenSeconds.window(containing: now).start) }

    /// Admission stops at the durable mark and resumes once a higher mark is written.
    @Test func admissionWaitsForTheDurableMark() throws {
        var ledger = QuotaLedger(member: 1, tracksDurability: true)
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now) else {
            Issue.record("nothing is durable yet"); return
        }
        #expect(ledger.awaitsDurability(in: key, for: Usage(requests: 1)))
        let records = ledger.recordsToPersist()
        #expect(records.count == 1)
        let mark = records[0].counter.used(by: 1).requests
        #expect(mark >= 4 && mark <= 30, "a chunk: an eighth of the 30 rights, at least four estimates")
        ledger.confirmDurable(records)
        for _ in 0..<mark { _ = try ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now).get() }
        #expect(ledger.awaitsDurability(in: key, for: Usage(requests: 1)))
        // Half a chunk before the mark, the ledger already asks for the next one.
        #expect(ledger.durabilityWanted)
        #expect(!ledger.recordsToPersist().isEmpty)
    }

    /// After a restart from its records, a member counts every reservation it had open as
    /// used: it may over-count, never forget.
    @Test func aRestartOverCountsButNeverForgets() throws {
        var ledger = QuotaLedger(member: 1, tracksDurability: true)
        ledger.confirmDurable(ledger.recordsToPersist())
        _ = ledger.reserve(.zero, against: [spec], members: [1, 2, 3], now: now)
        ledger.confirmDurable(ledger.recordsToPersist())
        var records: [WindowUpdate] = []
        for _ in 0..<10 {
            if ledger.awaitsDurability(in: key, for: Usage(requests: 1)) {
                records = ledger.recordsToPersist()
                ledger.confirmDurable(records)
            }
            _ = try ledger.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now).get()
        }
        records = ledger.recordsToPersist(including: [key])
        var restarted = QuotaLedger(member: 1, tracksDurability: true)
        for record in records { restarted.restore(record) }
        #expect(restarted.usage(in: key).requests >= 10, "the ten reservations count as used")
        #expect(restarted.usage(in: key).requests <= 30)
    }

    /// A grant in progress counts against the giver at once, travels by gossip only once
    /// completed, and is in the record written in between.
    @Test func aGrantIsDurableBeforeItTravels() {
        var giver = QuotaLedger(member: 2, tracksDurability: true)
        _ = giver.reserve(.zero, against: [spec], members: [1, 2, 3], now: now)
        let amount = giver.beginGrant(in: key, to: 1, requested: Usage(requests: 5))
        #expect(amount == Usage(requests: 5))
        #expect(giver.spare(in: key).requests == 25)
        #expect(giver.updates().allSatisfy { $0.counter.granted.isEmpty }, "nothing sent before it is durable")
        let records = giver.recordsToPersist(including: [key])
        #expect(records.first?.counter.granted[2]?[1] == Usage(requests: 5))
        giver.confirmDurable(records)
        giver.completeGrant(in: key, to: 1, amount: amount)
        #expect(giver.updates().first?.counter.granted[2]?[1] == Usage(requests: 5))
        #expect(giver.rights(in: key).requests == 25)
        var receiver = QuotaLedger(member: 1)
        for update in giver.updates() { receiver.merge(update) }
        #expect(receiver.rights(in: key).requests == 35)
        #expect(receiver.spareElsewhere(in: key).requests == 55, "25 left at member 2, 30 at member 3")
    }

    /// A grant whose write failed was never sent: the giver takes it back.
    @Test func anAbortedGrantReturnsTheRights() {
        var giver = QuotaLedger(member: 2, tracksDurability: true)
        if case let .success(meeting) = giver.reserve(.zero, against: [spec], members: [1, 2, 3], now: now) {
            giver.cancel(meeting)
        }
        let amount = giver.beginGrant(in: key, to: 1, requested: Usage(requests: 12))
        #expect(giver.spare(in: key).requests == 18)
        #expect(giver.expire(now: now + 60_000, graceMilliseconds: 0).isEmpty, "a grant in progress holds the window")
        giver.abortGrant(in: key, to: 1, amount: amount)
        #expect(giver.spare(in: key).requests == 30)
        #expect(giver.expire(now: now + 60_000, graceMilliseconds: 0).count == 1, "nothing in progress holds the window")
    }

    /// A restarted giver does not give the same rights again.
    @Test func aRestartedGiverKeepsItsGrants() {
        var giver = QuotaLedger(member: 2, tracksDurability: true)
        _ = giver.reserve(.zero, against: [spec], members: [1, 2, 3], now: now)
        _ = giver.beginGrant(in: key, to: 1, requested: Usage(requests: 30))
        let records = giver.recordsToPersist(including: [key])
        var restarted = QuotaLedger(member: 2, tracksDurability: true)
        for record in records { restarted.restore(record) }
        #expect(restarted.beginGrant(in: key, to: 3, requested: Usage(requests: 1)) == .zero)
    }
}
