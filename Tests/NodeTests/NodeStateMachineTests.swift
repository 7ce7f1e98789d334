import QuotaCRDT
import Synchronization
import Testing
@testable import Node

@Suite struct NodeStateMachineTests {
    @Test func canariesChainADigestAndSurviveASnapshot() throws {
        let a = NodeStateMachine()
        let b = NodeStateMachine()
        for index in UInt64(1)...50 {
            a.apply(NodeStateMachine.canaryEntry(nonce: index * 7), at: index)
            b.apply(NodeStateMachine.canaryEntry(nonce: index * 7), at: index)
        }
        #expect(a.canarySummary.digest == b.canarySummary.digest)
        #expect(a.canarySummary.count == 50 && a.canary(at: 20) == 140)

        let restored = NodeStateMachine()
        try restored.restore(from: a.snapshot(), at: 0)
        #expect(restored.canarySummary.digest == a.canarySummary.digest && restored.canary(at: 50) == 350)
        restored.apply(NodeStateMachine.canaryEntry(nonce: 1), at: 51)
        a.apply(NodeStateMachine.canaryEntry(nonce: 2), at: 51)
        #expect(restored.canarySummary.digest != a.canarySummary.digest, "a different canary changes the digest")
        #expect(throws: (any Error).self) { try NodeStateMachine().restore(from: [1, 2, 3], at: 0) }
    }

    @Test func onlyTheMostRecentCanariesAreKept() {
        let machine = NodeStateMachine()
        let total = UInt64(NodeStateMachine.recentCanariesMax + 5)
        for index in 1...total { machine.apply(NodeStateMachine.canaryEntry(nonce: index), at: index) }
        #expect(machine.canary(at: 5) == nil)
        #expect(machine.canary(at: total) == total)
        #expect(machine.canarySummary.count == total)
    }
}

@Suite struct QuotaEntriesTests {
    @Test func quotaMembershipAndReassignmentReachTheQuotaServiceAndTheSnapshot() throws {
        let schedules = Mutex<[MembershipSchedule]>([])
        let reassigned = Mutex<[WindowUpdate]>([])
        let machine = NodeStateMachine(
            onQuotaSchedule: { schedule in schedules.withLock { $0.append(schedule) } },
            onQuotaReassignment: { updates in reassigned.withLock { $0 += updates } })
        machine.apply(NodeStateMachine.quotaMembershipEntry(effectiveFrom: .min, voters: [2, 1]), at: 1)
        machine.apply(NodeStateMachine.quotaMembershipEntry(effectiveFrom: 50_000, voters: [1, 2, 3]), at: 2)
        #expect(machine.quotaSchedule.voters(at: 49_999) == [1, 2])
        #expect(schedules.withLock { $0.last } == machine.quotaSchedule)
        var counter = EscrowCounter()
        counter.grant(Usage(requests: 3), from: 3, to: 1)
        let update = WindowUpdate(
            key: WindowKey(quota: QuotaID(lane: .user, subject: "user:a", name: "n"), period: .hour, start: 0),
            members: [1, 2, 3], end: 3_600_000, caps: Caps(requests: 9), counter: counter)
        machine.apply(NodeStateMachine.quotaReassignmentEntry([update]), at: 3)
        #expect(reassigned.withLock { $0 } == [update])

        let restored = NodeStateMachine(onQuotaSchedule: { schedule in schedules.withLock { $0.append(schedule) } })
        try restored.restore(from: machine.snapshot(), at: 0)
        #expect(restored.quotaSchedule == machine.quotaSchedule)
        #expect(schedules.withLock { $0.last } == machine.quotaSchedule, "a restore tells the quota service too")
    }
}
