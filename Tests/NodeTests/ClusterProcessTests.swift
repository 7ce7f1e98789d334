import AsyncHTTPClient
import Foundation
import Gateway
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Testing

/// Three real `weir` processes on loopback, configured as a static cluster.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ClusterProcessTests {
    struct Node {
        let id: Int
        let httpPort: Int
        let peerPort: Int
        let dataDir: String
    }

    private func start(_ node: Node, peers: [Node]) throws -> WeirProcess {
        let list = peers.map { "\($0.id)=tcp://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        return try WeirProcess(
            ["serve", "--node-id", "\(node.id)", "--data-dir", node.dataDir, "--http-port", "\(node.httpPort)",
             "--peer-listen", "tcp://127.0.0.1:\(node.peerPort)", "--set", "peer.peers=\(list)", "--bootstrap"],
            environment: ["WEIR_CLUSTER_SECRET": "a shared secret for the test cluster", "WEIR_CLUSTER_ID": "process-test"])
    }

    /// The node's `weir_raft_is_leader` gauge, or nil when it does not answer.
    private func isLeader(_ node: Node) async -> Bool? {
        guard let response = try? await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(node.httpPort)/metrics"), timeout: .seconds(2)),
            let body = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return String(buffer: body).contains(#"weir_raft_is_leader{node="\#(node.id)"} 1"#)
    }

    @Test func aLeaderIsElectedAndReplacedWithinTwoSecondsAfterKillNine() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("weir-procs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let nodes = try (1...3).map { Node(id: $0, httpPort: try freeLoopbackPort(), peerPort: try freeLoopbackPort(), dataDir: "\(root)/\($0)") }
        var processes = try nodes.map { try start($0, peers: nodes) }

        var leader: Node?
        try await waitUntil("exactly one leader among three processes", within: .seconds(20)) {
            var leaders: [Node] = []
            for node in nodes where await isLeader(node) == true { leaders.append(node) }
            leader = leaders.count == 1 ? leaders[0] : nil
            return leader != nil
        }
        let first = leader!
        processes[first.id - 1].signal(SIGKILL)
        let killedAt = ContinuousClock.now
        var successor: Node?
        try await waitUntil("a new leader after kill -9", within: .seconds(10)) {
            for node in nodes where node.id != first.id {
                if await isLeader(node) == true { successor = node }
            }
            return successor != nil
        }
        let took = ContinuousClock.now - killedAt
        #expect(took < .seconds(2), "the survivors elected node \(successor!.id) after \(took)")

        // The old leader comes back from its data directory and follows.
        processes[first.id - 1] = try start(first, peers: nodes)
        try await waitUntil("the restarted node is ready as a follower", within: .seconds(15)) {
            await isLeader(first) == false
        }
        for process in processes { process.signal(SIGTERM) }
        for process in processes { #expect(try await process.awaitExit() == 0) }
    }
}

/// Membership changes through real processes: a fourth node joins through a follower's
/// HTTP address, catches up as a learner and is promoted; then a voter is removed.
@Suite(.serialized, .timeLimit(.minutes(3))) struct MembershipProcessTests {
    static let secret = "a shared secret for the test cluster"

    let client = SignedClusterClient(secret: MembershipProcessTests.secret)

    @Test func aFourthNodeJoinsIsPromotedAndAVoterIsRemoved() async throws {
        let layout = try ProcessClusterLayout("membership", secret: Self.secret, size: 4)
        defer { layout.removeRoot() }
        let (http, environment, arguments) = (layout.http, layout.environment, layout.arguments)
        var processes = try (1...3).map { try WeirProcess(layout.bootstrapArguments($0), environment: environment) }
        var leader: UInt64 = 0
        try await waitUntil("the three nodes agree on a leader", within: .seconds(20)) {
            let views = await [1, 2, 3].asyncMap { await self.client.status(http[$0 - 1]) }
            let leaders = Set(views.compactMap { $0?.leader })
            leader = leaders.first ?? 0
            return views.allSatisfy { $0 != nil } && leaders.count == 1 && leader != 0
        }

        // Node 4 joins through a follower; the leader promotes it once it has caught up.
        let follower = [1, 2, 3].first { UInt64($0) != leader }!
        processes.append(try WeirProcess(arguments(4) + ["--join", "http://127.0.0.1:\(http[follower - 1])"], environment: environment))
        try await waitUntil("node 4 is a voter on the leader", within: .seconds(30)) {
            await self.client.status(http[Int(leader) - 1])?.membership.voters == [1, 2, 3, 4]
        }
        try await waitUntil("node 4 follows the leader", within: .seconds(10)) {
            await self.client.status(http[3])?.leader == leader
        }
        // Quota windows are pooled from the start: a new voter changes no split.
        try await waitUntil("every node has the pooled quota split", within: .seconds(10)) {
            for id in 1...4 where await self.client.status(http[id - 1])?.quota_split.last?.pooled != true { return false }
            return true
        }
        let split = try #require(await client.status(http[3])?.quota_split)
        #expect(split == [QuotaSplit(effective_from_ms: nil, voters: [], pooled: true)], "the pool covers every window, whoever the voters are")

        // A voter that is not the leader is removed; it stops reporting ready.
        let removed = [1, 2, 3].first { UInt64($0) != leader && $0 != follower }!
        let removal = await client.call(.POST, port: http[follower - 1], path: "/cluster/v1/remove", json: #"{"node_id":\#(removed)}"#, timeout: 10)
        #expect(removal?.status == 200)
        let remaining = [1, 2, 3, 4].filter { $0 != removed }.map(UInt64.init)
        try await waitUntil("the removal is applied by every remaining member", within: .seconds(10)) {
            for id in remaining where await self.client.status(http[Int(id) - 1])?.membership.voters != remaining { return false }
            return true
        }
        try await waitUntil("the removed node reports not ready", within: .seconds(10)) {
            let response = try? await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(http[removed - 1])/health/ready"), timeout: .seconds(2))
            return response?.status.code == 503
        }
        for process in processes { process.signal(SIGTERM) }
        for process in processes { #expect(try await process.awaitExit() == 0) }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for element in self { results.append(await transform(element)) }
        return results
    }
}
