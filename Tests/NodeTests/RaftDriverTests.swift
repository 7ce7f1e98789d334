import Consensus
import Foundation
import Logging
import Storage
import Synchronization
import Testing
import Transport
@testable import Node
import NodeTestSupport

@Suite(.serialized, .timeLimit(.minutes(3))) struct RaftDriverTests {
    private func payload(_ n: Int) -> [UInt8] { Array("p\(n)".utf8) }

    @Test func aThousandProposalsReplicateInOrderThroughFollowersToo() async throws {
        let cluster = try InProcessCluster(size: 3)
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        let follower = cluster.members.keys.first { $0 != leader }!
        // Proposals go to the leader and (forwarded) through a follower, 50 at a time.
        var indexes: [UInt64] = []
        for batch in 0..<20 {
            let target = cluster.members[batch % 2 == 0 ? leader : follower]!.driver
            let results = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for n in (batch * 50)..<(batch * 50 + 50) {
                    group.addTask { try await target.propose(self.payload(n)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            indexes += results
        }
        #expect(Set(indexes).count == 1000, "every proposal got its own index")
        try await waitUntil("every node applied 1000 entries") {
            cluster.members.values.allSatisfy { $0.machine.count == 1000 }
        }
        let reference = cluster.members[leader]!.machine.applied.withLock { $0 }
        for member in cluster.members.values {
            #expect(member.machine.applied.withLock { $0 } == reference, "same entries in the same order")
        }
        #expect(Set(reference) == Set((0..<1000).map(payload)))
        await cluster.shutdown()
    }

    @Test func aNewLeaderTakesOverAndARestartedNodeCatchesUpFromASnapshot() async throws {
        let cluster = try InProcessCluster(size: 3) {
            $0.snapshotEveryEntries = 50
            $0.compactionMarginEntries = 5
        }
        defer { Task { await cluster.shutdown() } }
        let first = try await cluster.leader()
        for n in 0..<20 { _ = try await cluster.members[first]!.driver.propose(payload(n)) }

        // The leader dies; the others elect a successor and keep committing.
        let clock = ContinuousClock()
        let killed = clock.now
        await cluster.stop(first)
        let second = try await cluster.leader(within: .seconds(5))
        let electedAfter = clock.now - killed
        #expect(second != first)
        #expect(electedAfter < .seconds(2), "a new leader within 2 s, took \(electedAfter)")
        for n in 20..<200 { _ = try await cluster.members[second]!.driver.propose(payload(n)) }

        // The old leader restarts far behind the compacted log: it needs the snapshot.
        try cluster.restart(first)
        try await waitUntil("the restarted node caught up") { cluster.members[first]!.machine.count == 200 }
        let installed = await cluster.members[first]!.driver.snapshotIndex
        #expect(installed > 20, "it caught up through a snapshot (at \(installed)), not only the log")
        let reference = cluster.members[second]!.machine.applied.withLock { $0 }
        #expect(cluster.members[first]!.machine.applied.withLock { $0 } == reference)
        let status = await cluster.members[second]!.driver.status
        #expect(status.progress[first]?.match == status.lastIndex)
        await cluster.shutdown()
    }

    /// A forwarded proposal is a peer's bytes: the leader refuses one it could not apply
    /// (an empty entry once reached the log as a fake no-op and stopped every node).
    @Test func theLeaderRefusesAForwardedEntryItCouldNotApply() async throws {
        let cluster = try InProcessCluster(size: 3)
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        let follower = cluster.members.keys.first { $0 != leader }!
        // A leader is elected before its followers have all heard from it.
        try await waitUntil("the follower knows the leader") {
            await cluster.members[follower]!.driver.status.softState.leader == leader
        }
        do {
            _ = try await cluster.members[follower]!.driver.forward(.data([]))
            Issue.record("an empty entry was appended")
        } catch let error as ProposalError {
            #expect("\(error)".contains("empty"), "got \(error)")
        }
        do {
            _ = try await cluster.members[leader]!.driver.propose([])
            Issue.record("an empty entry was proposed")
        } catch is ProposalError {}
        _ = try await cluster.members[follower]!.driver.propose(payload(1))
        try await waitUntil("the cluster goes on") { cluster.members.values.allSatisfy { $0.machine.count == 1 } }
        await cluster.shutdown()
    }

    @Test func proposalsWithoutAQuorumFailClearly() async throws {
        let cluster = try InProcessCluster(size: 3) { $0.proposalTimeoutMilliseconds = 500 }
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        for id in cluster.members.keys where id != leader { await cluster.stop(id) }
        do {
            _ = try await cluster.members[leader]!.driver.propose([1])
            Issue.record("a proposal committed without a quorum")
        } catch let error as ProposalError {
            #expect(error == .timedOut || error == .noLeader || error == .dropped, "got \(error)")
        }
        await cluster.shutdown()
    }
}
