import Testing
@testable import Consensus
import RaftSimulation

@Suite struct MembershipTests {
    @Test func aLearnerCatchesUpThenIsPromoted() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        for value in UInt8(1)...10 { try cluster.propose([value], on: 1) }
        cluster.addJoiningNode(4, membership: ConfigurationState(voters: [1, 2, 3], learners: [4]))
        try cluster.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 4)) }
        cluster.advance(ticks: 5)
        let status = cluster.status(1)
        #expect(status.configuration.learners == [4])
        #expect(status.progress[4]?.match == status.lastIndex, "the learner caught up")
        #expect(cluster.nodes[4]!.applied.entries == cluster.nodes[1]!.applied.entries)

        try cluster.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.addVoter, node: 4)) }
        cluster.advance(ticks: 3)
        #expect(cluster.status(1).configuration.voters == [1, 2, 3, 4])
        #expect(cluster.status(4).configuration.voters == [1, 2, 3, 4])
    }

    @Test func changesGoOneAtATime() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        cluster.partition([1])  // the first change cannot commit
        try cluster.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 4)) }
        #expect(throws: RaftError.configurationChangeInProgress) {
            try cluster.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.addLearner, node: 5)) }
        }
        #expect(throws: RaftError.invalidConfigurationChange(reason: "node 9 is not a member")) {
            let fresh = RaftCluster(voters: [1])
            fresh.campaign(1)
            try fresh.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.remove, node: 9)) }
        }
    }

    @Test func aLeaderThatRemovesItselfStepsDownAndTheRestElect() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        try cluster.withNode(1) { try $0.proposeConfigurationChange(ConfigurationChange(.remove, node: 1)) }
        cluster.stabilize()
        #expect(cluster.status(1).softState.role == .follower)
        cluster.stop(1)
        cluster.advance(ticks: 40)
        let leader = try #require(cluster.leader)
        #expect([NodeID(2), 3].contains(leader))
        #expect(cluster.status(leader).configuration.voters == [2, 3])
        try cluster.propose([5], on: leader)
    }

    @Test func leadershipTransfersToAnUpToDateVoter() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        try cluster.propose([1], on: 1)
        cluster.withNode(1) { $0.transferLeadership(to: 3) }
        cluster.stabilize()
        #expect(cluster.leader == 3)
        #expect(cluster.status(1).softState.leader == 3)
        try cluster.propose([2], on: 3)
        #expect(cluster.nodes[1]!.applied.entries.values.contains([2]))
    }

    @Test func readIndexOnLeaderAndFollower() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        try cluster.propose([1], on: 1)
        let commit = cluster.status(1).hardState.commit
        cluster.withNode(1) { $0.readIndex(context: [0xA]) }
        cluster.withNode(2) { $0.readIndex(context: [0xB]) }
        cluster.stabilize()
        #expect(cluster.nodes[1]!.readStates == [ReadState(index: commit, context: [0xA])])
        #expect(cluster.nodes[2]!.readStates == [ReadState(index: commit, context: [0xB])])
    }

    @Test func aNewLeaderAnswersReadsOnlyAfterItsFirstCommit() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        // Votes get through, appends do not: 2 wins but cannot commit its no-op.
        cluster.deliverable = { $0.kind != .append && $0.kind != .appendResponse }
        cluster.campaign(2)
        #expect(cluster.leader == 2)
        cluster.withNode(2) { $0.readIndex(context: [0xC]) }
        cluster.stabilize()
        #expect(cluster.nodes[2]!.readStates.isEmpty, "no read before the leader knows the commit index")
        cluster.heal()
        cluster.advance(ticks: 2)
        let commit = cluster.status(2).hardState.commit
        #expect(cluster.nodes[2]!.readStates == [ReadState(index: commit, context: [0xC])])
    }
}
