import Testing
@testable import Consensus
import RaftSimulation

@Suite struct ElectionTests {
    @Test func aSingleNodeElectsItselfAndCommitsAtOnce() throws {
        let cluster = RaftCluster(voters: [1])
        cluster.campaign(1)
        #expect(cluster.leader == 1)
        try cluster.propose([7], on: 1)
        #expect(cluster.nodes[1]!.applied.entries.values.contains([7]))
        #expect(cluster.status(1).hardState.commit == 2, "the no-op of term 1, then the proposal")
    }

    @Test func threeNodesElectOneLeaderByTicksAlone() {
        let cluster = RaftCluster(voters: [1, 2, 3], seed: 42)
        cluster.advance(ticks: 40)
        let leader = try! #require(cluster.leader)
        let term = cluster.status(leader).hardState.term
        for id in [NodeID(1), 2, 3] {
            #expect(cluster.status(id).softState.leader == leader)
            #expect(cluster.status(id).hardState.term == term)
        }
        #expect([NodeID(1), 2, 3].filter { cluster.status($0).softState.role == .leader }.count == 1)
    }

    @Test func aCandidateWithAStaleLogLosesTheVote() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        // Node 3 misses an entry that 1 and 2 commit.
        cluster.partition([3])
        try cluster.propose([1], on: 1)
        cluster.heal()
        cluster.stop(1)
        cluster.campaign(3)
        #expect(cluster.status(3).softState.role != .leader, "2 must refuse 3: its log is behind")
        cluster.campaign(2)
        #expect(cluster.leader == 2)
    }

    @Test func preVoteKeepsAPartitionedNodeFromInflatingTerms() {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        let term = cluster.status(1).hardState.term
        cluster.partition([3])
        cluster.advance(ticks: 100)
        // Node 3 kept pre-campaigning but never won a pre-vote, so its term stayed.
        #expect(cluster.status(3).hardState.term == term)
        cluster.heal()
        cluster.advance(ticks: 5)
        #expect(cluster.leader == 1)
        #expect(cluster.status(1).hardState.term == term, "the rejoining node did not disturb the leader")
    }

    @Test func checkQuorumMakesAnIsolatedLeaderStepDown() {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        cluster.partition([1])
        cluster.advance(ticks: 30)
        #expect(cluster.status(1).softState.role == .follower, "a leader that cannot reach a quorum steps down")
        let newLeader = try! #require(cluster.leader)
        #expect(newLeader != 1)
        cluster.heal()
        cluster.advance(ticks: 5)
        #expect(cluster.status(1).softState.leader == newLeader)
    }

    @Test func votesAreRefusedWithinALeaderLease() {
        let cluster = RaftCluster(voters: [1, 2, 3])
        cluster.campaign(1)
        let term = cluster.status(1).hardState.term
        // A disruptive vote request from a higher term is ignored while 2 hears from 1.
        var request = Message(kind: .vote, from: 3, to: 2, term: term + 5)
        request.index = 100
        request.logTerm = term + 4
        cluster.withNode(2) { $0.step(request) }
        #expect(cluster.status(2).hardState.term == term)
    }
}
