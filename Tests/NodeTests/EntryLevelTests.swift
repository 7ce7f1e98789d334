import BinaryCoding
import Testing
@testable import Node

/// Entry levels (docs/operations.md, rolling restart): the leader proposes nothing that a
/// member's build cannot apply, and snapshots keep the format every member reads.
@Suite struct EntryLevelTests {
    static let allocation = NodeStateMachine.quotaAllocationEntry([])

    static func machine(members: [UInt64], levels: [UInt64: UInt16]) -> NodeStateMachine {
        let machine = NodeStateMachine()
        machine.membersApplied(members)
        for (index, (node, level)) in levels.sorted(by: { $0.key < $1.key }).enumerated() {
            machine.apply(NodeStateMachine.memberLevelEntry(node: node, level: level), at: UInt64(index + 1))
        }
        return machine
    }

    @Test func theClusterLevelIsTheLowestAmongTheMembersAndAMissingRecordIsLevelThree() {
        let machine = Self.machine(members: [1, 2, 3], levels: [1: 4, 2: 4])
        #expect(machine.clusterLevel == NodeStateMachine.levelWithoutRecord)
        machine.apply(NodeStateMachine.memberLevelEntry(node: 3, level: 4), at: 10)
        #expect(machine.clusterLevel == 4)
        machine.membersApplied([1, 2, 3, 5])
        #expect(machine.clusterLevel == 3, "a new member without a record")
        machine.memberRemoved(5, at: 11)
        machine.membersApplied([1, 2, 3])
        #expect(machine.clusterLevel == 4)
        machine.memberRemoved(3, at: 12)
        #expect(machine.level(of: 3) == nil, "a removed member's level goes with it")
        #expect(machine.recordedLevels == [1: 4, 2: 4])
    }

    /// A member that recorded level 2 (a build that cannot apply quota allocations) keeps
    /// the leader from proposing them; what is already committed still applies everywhere.
    @Test func aKindAboveTheClusterLevelIsRefusedAtProposalNeverAtApply() {
        let machine = Self.machine(members: [1, 2], levels: [1: 4, 2: 2])
        #expect(machine.clusterLevel == 2)
        let refusal = machine.rejection(of: Self.allocation)
        #expect(refusal?.contains("entry level 3") == true && refusal?.contains("cluster is at level 2") == true, "\(refusal ?? "nil")")
        #expect(NodeStateMachine.check(Self.allocation, clusterLevel: 2) == .aboveClusterLevel("entry kind 6 (quotaAllocation)", needs: 3, cluster: 2))
        #expect(machine.rejection(of: NodeStateMachine.canaryEntry(nonce: 1)) == nil, "level-1 kinds pass")
        machine.apply(Self.allocation, at: 20)
        #expect(machine.rejected.count == 0, "a committed entry this build understands is applied, whatever the level")
        machine.apply(NodeStateMachine.memberLevelEntry(node: 2, level: 4), at: 21)
        #expect(machine.rejection(of: Self.allocation) == nil, "once the member records level 4")
    }

    /// Level records themselves pass at level 3: that is how a cluster of level-3 builds
    /// learns its members were upgraded.
    @Test func levelRecordsPassAtLevelThree() {
        let machine = Self.machine(members: [1, 2, 3], levels: [:])
        #expect(machine.rejection(of: NodeStateMachine.memberLevelEntry(node: 1, level: 4)) == nil)
    }

    @Test func aDamagedLevelEntryIsRejectedOnEveryNodeAlike() {
        let good = NodeStateMachine.memberLevelEntry(node: 3, level: 4)
        for bad in [Array(good.dropLast()), good + [0], NodeStateMachine.memberLevelEntry(node: 0, level: 4),
                    NodeStateMachine.memberLevelEntry(node: 3, level: 0), [7]] {
            #expect(NodeStateMachine.check(bad) == .malformed("member level"), "\(bad)")
            let machine = NodeStateMachine()
            machine.apply(bad, at: 1)
            #expect(machine.rejected.count == 1 && machine.recordedLevels.isEmpty)
        }
    }

    /// Until every member is at level 4 the snapshot body stays format 6, which level-3
    /// builds install; then it is format 7 and carries the levels.
    @Test func snapshotsAreWrittenInTheFormatOfTheClusterLevel() throws {
        let mixed = Self.machine(members: [1, 2, 3], levels: [1: 4, 2: 4])
        #expect(mixed.uncompressedSnapshot().first == 6)
        let upgraded = Self.machine(members: [1, 2, 3], levels: [1: 4, 2: 4, 3: 4])
        let body = upgraded.uncompressedSnapshot()
        #expect(body.first == 7)
        let restored = NodeStateMachine()
        try restored.restore(from: upgraded.snapshot(), at: 3)
        #expect(restored.recordedLevels == [1: 4, 2: 4, 3: 4])
        try restored.restore(from: body, at: 3)
        #expect(restored.recordedLevels == [1: 4, 2: 4, 3: 4])
        let fromSix = NodeStateMachine()
        try fromSix.restore(from: mixed.uncompressedSnapshot(), at: 2)
        #expect(fromSix.recordedLevels.isEmpty, "format 6 has no levels: every member records its own again within 5 minutes")
        fromSix.membersApplied([1, 2, 3])
        #expect(fromSix.clusterLevel == NodeStateMachine.levelWithoutRecord, "lower than the truth, never higher")
        #expect(!upgraded.canRestore(from: Array(body.dropLast())), "cut inside the table")
        var twice = Array(body.dropLast(4 + 3 * 10))
        twice.appendBigEndian(UInt32(2))
        for _ in 0..<2 {
            twice.appendBigEndian(UInt64(1))
            twice.appendBigEndian(UInt16(4))
        }
        #expect(!upgraded.canRestore(from: twice), "a node listed twice")
        var huge = Array(body.dropLast(4 + 3 * 10))
        huge.appendBigEndian(UInt32.max)
        #expect(!upgraded.canRestore(from: huge), "a count past the bytes")
    }
}
