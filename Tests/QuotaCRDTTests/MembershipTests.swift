import BinaryCoding
import Testing
@testable import QuotaCRDT

@Suite struct MembershipTests {
    @Test func theScheduleSplitsWindowsByTheirStart() throws {
        var schedule = MembershipSchedule()
        #expect(schedule.voters(at: 0) == nil)
        schedule.append(effectiveFrom: .min, voters: [3, 1, 2])
        schedule.append(effectiveFrom: 10_000, voters: [1, 2, 3, 4])
        // A leader whose clock is behind: the change still comes after the previous one.
        schedule.append(effectiveFrom: 5_000, voters: [1, 2, 4])
        #expect(schedule.voters(at: .min) == [1, 2, 3])
        #expect(schedule.voters(at: 9_999) == [1, 2, 3])
        #expect(schedule.voters(at: 10_000) == [1, 2, 3, 4])
        #expect(schedule.voters(at: 10_001) == [1, 2, 4])
        #expect(schedule.latestVoters == [1, 2, 4])
        var reader = ByteReader(schedule.encode())
        #expect(MembershipSchedule.decode(&reader) == schedule && reader.isAtEnd)
        var truncated = ByteReader(Array(schedule.encode().dropLast()))
        #expect(MembershipSchedule.decode(&truncated) == nil)
    }

    /// A forced removal hands the removed member's unused rights to the others: the sum of
    /// rights stays the cap, and a grant it made that the proposer had not heard of is not
    /// counted twice.
    @Test func aRemovedMembersRightsAreReassignedWithoutCreatingAny() throws {
        let spec = QuotaSpec(id: QuotaID(lane: .org, subject: "org:acme", name: "rpm"), period: .minute, caps: Caps(requests: 90))
        let now: Int64 = 1_800_000_000_000
        let key = WindowKey(quota: spec.id, period: .minute, start: Period.minute.window(containing: now).start)
        var one = QuotaLedger(member: 1)
        var two = QuotaLedger(member: 2)
        var three = QuotaLedger(member: 3)
        for _ in 0..<10 { _ = try three.reserve(Usage(requests: 1), against: [spec], members: [1, 2, 3], now: now).get() }
        three.settle(ReservationID(rawValue: 1), actual: Usage(requests: 1))
        _ = three.grantRights(in: key, to: 1, requested: Usage(requests: 5))
        for update in three.updates() { one.merge(update) }  // 1 knows: 3 used 1, gave 5 to 1
        _ = two.reserve(.zero, against: [spec], members: [1, 2, 3], now: now)
        // Node 3 dies; what 1 proposes is applied by 1 and 2 alike.
        let updates = one.reassignment(of: 3, to: [1, 2])
        for update in updates { one.merge(update); two.merge(update) }
        for update in one.updates() { two.merge(update) }
        for update in two.updates() { one.merge(update) }
        // 3 held 30 − 5 given − 1 used = 24 spare: 12 to each.
        #expect(one.rights(in: key).requests == 30 + 5 + 12)
        #expect(two.rights(in: key).requests == 30 + 12)
        // Σ rights = cap: 47 + 42 + what 3 keeps (its 1 used request).
        #expect(one.rights(in: key).requests + two.rights(in: key).requests + 1 == 90)
        // The proposer had not heard of a grant of 3 → 2 of 4: merging it takes the
        // maximum, so 2 gains nothing twice and the sum cannot exceed the cap.
        _ = three.grantRights(in: key, to: 2, requested: Usage(requests: 4))
        for update in three.updates() { two.merge(update) }
        #expect(two.rights(in: key).requests == 42)
    }
}
