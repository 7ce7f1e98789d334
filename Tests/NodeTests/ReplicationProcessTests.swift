import AsyncHTTPClient
import Foundation
import Gateway
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Synchronization
import Testing

/// Writes through three real `weir` processes (canaries: `POST /cluster/v1/canary`).
@Suite(.serialized, .timeLimit(.minutes(4))) struct ReplicationProcessTests {
    static let secret = "a shared secret for the replication test"
    let client = SignedClusterClient(secret: ReplicationProcessTests.secret)

    /// Sends `count` canaries, `parallel` at a time, spread over `ports`; returns those acknowledged.
    private func send(_ count: Int, parallel: Int, to ports: [Int]) async -> [CanaryResult] {
        await withTaskGroup(of: [CanaryResult].self) { group in
            for worker in 0..<parallel {
                group.addTask {
                    var acknowledged: [CanaryResult] = []
                    for n in stride(from: worker, to: count, by: parallel) {
                        if let result = await self.client.canary(ports[n % ports.count]) { acknowledged.append(result) }
                    }
                    return acknowledged
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test func aThousandWritesSurviveKillNineOfTheLeaderAndASnapshotCatchUp() async throws {
        let layout = try ProcessClusterLayout("replication", secret: Self.secret)
        defer { layout.removeRoot() }
        let http = layout.http
        func start(_ id: Int) throws -> WeirProcess {
            try WeirProcess(
                layout.bootstrapArguments(id) + ["--set", "raft.snapshot_entries=100", "--set", "raft.compaction_margin_entries=10"],
                environment: layout.environment)
        }
        var processes = try (1...3).map(start)
        var leader = 0
        try await waitUntil("a leader is known to all three", within: .seconds(20)) {
            let leaders = Set(await [0, 1, 2].asyncMap { await self.client.status(http[$0])?.leader ?? 0 })
            leader = Int(leaders.first ?? 0)
            return leaders.count == 1 && leader != 0
        }

        // 1,000 writes through all three nodes (followers forward to the leader).
        var acknowledged = await send(1000, parallel: 20, to: http)
        #expect(acknowledged.count == 1000, "every write was acknowledged on a healthy cluster")
        try await waitUntil("all three applied the same 1,000 canaries", within: .seconds(15)) {
            let views = await [0, 1, 2].asyncMap { await self.client.status(http[$0]) }
            return views.allSatisfy { $0?.canaries.count == 1000 } && Set(views.map { $0?.canaries.digest }).count == 1
        }

        // Kill -9 the leader while writes keep coming through the others.
        let survivors = [1, 2, 3].filter { $0 != leader }.map { http[$0 - 1] }
        async let during = send(300, parallel: 10, to: survivors)
        try await Task.sleep(for: .milliseconds(100))
        processes[leader - 1].signal(SIGKILL)
        acknowledged += await during
        acknowledged += await send(200, parallel: 10, to: survivors)
        #expect(acknowledged.count >= 1400, "writes resumed after the new election (\(acknowledged.count) acknowledged)")
        if acknowledged.count < 1400 {
            // What the survivors were doing, for the failure's diagnosis.
            for survivor in [1, 2, 3] where survivor != leader {
                Issue.record("node \(survivor)'s log, its end:\n\(String(processes[survivor - 1].log.suffix(6_000)))")
            }
        }

        // The old leader restarts far behind the survivors' compacted logs.
        processes[leader - 1] = try start(leader)
        let reference = try #require(await client.status(survivors[0]))
        try await waitUntil("the restarted node caught up", within: .seconds(30)) {
            guard let view = await self.client.status(http[leader - 1]), let now = await self.client.status(survivors[0]) else { return false }
            return view.canaries == now.canaries && view.applied >= reference.applied
        }
        let restarted = try #require(await client.status(http[leader - 1]))
        #expect(restarted.snapshot_index > 1000, "it caught up through a snapshot (at \(restarted.snapshot_index))")

        // No acknowledged write is lost, on any node.
        for port in http {
            for result in acknowledged.shuffled().prefix(300) {
                let found = await client.canaryNonce(port, at: result.index)
                if found != result.nonce {
                    Issue.record("node on port \(port) has \(String(describing: found)) at \(result.index), acknowledged \(result.nonce)")
                    break
                }
            }
        }
        // A follower that misses only a few entries catches up from the log: it installs no
        // snapshot from the leader. (It may take one of its own: the entries it replays on
        // restart count towards `raft.snapshot_entries`, and its last snapshot may have been
        // up to 99 entries behind when it was killed.)
        let current = try #require(await client.status(survivors[0])).leader
        let follower = [1, 2, 3].first { UInt64($0) != current }!
        processes[follower - 1].signal(SIGKILL)
        _ = try await processes[follower - 1].awaitExit()
        let before = try #require(await client.status(http[[1, 2, 3].first { $0 != follower }! - 1]))
        let few = await send(5, parallel: 1, to: [http[Int(current) - 1]])
        #expect(few.count == 5)
        processes[follower - 1] = try start(follower)
        try await waitUntil("the follower caught up from the log", within: .seconds(20)) {
            await self.client.status(http[follower - 1])?.canaries.count == before.canaries.count + 5
        }
        #expect(!processes[follower - 1].log.contains("installed snapshot"), "no snapshot was needed; its log:\n\(processes[follower - 1].log.suffix(3000))")

        for process in processes { process.signal(SIGTERM) }
        for process in processes { #expect(try await process.awaitExit() == 0) }
    }
}
