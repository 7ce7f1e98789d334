import AsyncHTTPClient
import Foundation
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
             "--peer-listen", "tcp://127.0.0.1:\(node.peerPort)", "--set", "peer.peers=\(list)"],
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
