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
        try restored.restore(from: a.snapshot())
        #expect(restored.canarySummary.digest == a.canarySummary.digest && restored.canary(at: 50) == 350)
        restored.apply(NodeStateMachine.canaryEntry(nonce: 1), at: 51)
        a.apply(NodeStateMachine.canaryEntry(nonce: 2), at: 51)
        #expect(restored.canarySummary.digest != a.canarySummary.digest, "a different canary changes the digest")
        #expect(throws: (any Error).self) { try NodeStateMachine().restore(from: [1, 2, 3]) }
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
