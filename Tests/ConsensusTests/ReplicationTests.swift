import Testing
@testable import Consensus
import RaftSimulation

@Suite struct ReplicationTests {
    @Test func proposalsReachEveryNodeInOrder() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        for value in UInt8(1)...20 { try cluster.propose([value], on: 1) }
        for id in [NodeID(1), 2, 3] {
            let applied = cluster.nodes[id]!.applied.entries.sorted { $0.key < $1.key }.map(\.value)
            #expect(applied == (UInt8(1)...20).map { [$0] })
        }
    }

    @Test func followersRefuseProposalsAndNameTheLeader() {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        #expect(throws: RaftError.notLeader(leader: 1)) { try cluster.withNode(2) { try $0.propose([1]) } }
    }

    @Test func aFollowerWithADivergentLogIsRepaired() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        // 1 appends entries only it has, then is cut off; once its lease lapses, 2 or 3
        // leads a new term.
        cluster.partition([1])
        for value in UInt8(100)...104 { try cluster.withNode(1) { try $0.propose([value]) } }
        cluster.advance(ticks: 40)
        let leader = try #require(cluster.leader)
        #expect(leader != 1)
        for value in UInt8(1)...5 { try cluster.propose([value], on: leader) }
        cluster.heal()
        cluster.advance(ticks: 5)
        // 1's uncommitted entries were replaced by the leader's.
        let expected = cluster.nodes[leader]!.applied
        #expect(cluster.nodes[1]!.applied == expected)
        #expect(expected.entries.values.contains([5]))
        #expect(!cluster.nodes[1]!.applied.entries.values.contains([100]))
    }

    @Test func aLaggingFollowerCatchesUpFromASnapshot() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        cluster.partition([3])
        for value in UInt8(1)...30 { try cluster.propose([value], on: 1) }
        // The leader compacts its log past what 3 has.
        let node1 = cluster.nodes[1]!
        let applied = node1.applied.index
        try node1.storage.createSnapshot(at: applied, configuration: node1.membership, data: encodeSnapshot(node1.applied, through: applied))
        try node1.storage.compact(through: applied)
        cluster.heal()
        cluster.advance(ticks: 5)
        #expect(cluster.nodes[3]!.storage.currentSnapshot.metadata.index == applied)
        #expect(cluster.nodes[3]!.applied.entries == cluster.nodes[1]!.applied.entries)
        try cluster.propose([99], on: 1)
        #expect(cluster.nodes[3]!.applied.entries.values.contains([99]))
    }

    @Test func theUncommittedLimitRefusesProposalsUntilTheyCommit() throws {
        let cluster = RaftCluster(voters: [1, 2, 3]) { $0.uncommittedBytesMax = 100 }
        cluster.campaign(1)
        cluster.partition([1])  // nothing commits
        try cluster.withNode(1) { try $0.propose(Array(repeating: 1, count: 60)) }
        #expect(throws: RaftError.uncommittedLimit) {
            try cluster.withNode(1) { try $0.propose(Array(repeating: 2, count: 60)) }
        }
        cluster.heal()
        cluster.advance(ticks: 3)
        try cluster.withNode(1) { try $0.propose(Array(repeating: 3, count: 60)) }
    }
}

/// The simulator's snapshot encoding of an applied log.
func encodeSnapshot(_ log: AppliedLog, through index: UInt64) -> [UInt8] { log.encodeForSnapshot(through: index) }

/// The leader's view of one follower.
@Suite struct ProgressTests {
    /// `next` must stay past `match`. A hint below what the follower acknowledged once set
    /// `next` at or below `match`; floored at `match + 1` instead, a follower that truly
    /// lost its log would be probed at the same index for good (Scripts/lost_data.txt).
    /// So a hint below `match` lowers `match` to it, and the log is repaired from there.
    @Test func aHintBelowMatchLowersMatchAndNextStaysPastIt() {
        var progress = Progress(next: 1, inflightsMax: 8, isLearner: false)
        let updated = progress.maybeUpdate(5)
        progress.next = 8
        let decreased = progress.maybeDecrease(rejected: 7, matchHint: 6)
        #expect(updated && decreased && progress.next == 7 && progress.match == 5, "a hint past match: probe below the rejection")
        let lost = progress.maybeDecrease(rejected: 6, matchHint: 2)
        #expect(lost && progress.match == 2 && progress.next == 3, "the follower lost what it had: next \(progress.next), match \(progress.match)")
        let stale = progress.maybeDecrease(rejected: 9, matchHint: 0)
        #expect(!stale && progress.next == 3, "a stale rejection changes nothing")
        var replicating = Progress(next: 1, inflightsMax: 8, isLearner: false)
        _ = replicating.maybeUpdate(5)
        replicating.becomeReplicate()
        let belowMatch = replicating.maybeDecrease(rejected: 4, matchHint: 0)
        #expect(!belowMatch && replicating.next == 6)
    }
}
