import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NodeTestSupport
import Testing

/// End-to-end: the real `weir` binary, real ports (chosen by the system), real signals.
@Suite(.timeLimit(.minutes(2))) struct WeirServeTests {
    private func freshDataDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("weir-node-\(UUID().uuidString)").path
    }

    private func serve(_ dataDir: String, extra: [String] = []) throws -> WeirProcess {
        try WeirProcess(["serve", "--data-dir", dataDir, "--http-port", "0", "--peer-listen", "tcp://127.0.0.1:0", "--node-id", "4"] + extra)
    }

    private func get(_ url: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    @Test func servesHealthAndMetricsThenStopsCleanlyOnSIGTERM() async throws {
        let dataDir = freshDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let node = try serve(dataDir)
        let port = try await node.awaitLog(#"http_port=(\d+)"#)
        let base = "http://127.0.0.1:\(port)"

        let live = try await get("\(base)/health/live")
        #expect(live.status == 200)
        let liveBody = try JSONSerialization.jsonObject(with: Data(live.body.utf8)) as? [String: Any]
        #expect(liveBody?["node_id"] as? Int == 4)
        #expect((liveBody?["version"] as? String)?.isEmpty == false)

        // Ready once storage is open and the node of one has elected itself.
        try await waitUntil("the node reports ready", within: .seconds(10)) {
            try await self.get("\(base)/health/ready").status == 200
        }

        let metrics = try await get("\(base)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("weir_build_info"))
        #expect(metrics.body.contains(#"weir_raft_is_leader{node="4"} 1"#))
        #expect(metrics.body.contains("# TYPE"))

        node.signal(SIGTERM)
        #expect(try await node.awaitExit() == 0)
        #expect(node.log.contains("node stopped"))
    }

    @Test func aSecondNodeOnTheSameDataDirectoryIsRefusedClearly() async throws {
        let dataDir = freshDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let first = try serve(dataDir)
        _ = try await first.awaitLog(#"http_port=(\d+)"#)

        let second = try serve(dataDir)
        #expect(try await second.awaitExit() == 1)
        #expect(second.log.contains("is in use by another process"))
        #expect(second.log.contains("choose another data directory"))

        first.signal(SIGINT)
        #expect(try await first.awaitExit() == 0)
    }

    @Test func aDataDirectoryOfAnotherNodeIsRefused() async throws {
        let dataDir = freshDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let first = try serve(dataDir)
        _ = try await first.awaitLog(#"http_port=(\d+)"#)
        first.signal(SIGTERM)
        #expect(try await first.awaitExit() == 0)

        let impostor = try WeirProcess(["serve", "--data-dir", dataDir, "--http-port", "0", "--peer-listen", "tcp://127.0.0.1:0", "--node-id", "5"])
        #expect(try await impostor.awaitExit() == 1)
        #expect(impostor.log.contains("belongs to node 4"))
    }

    @Test func aBadConfigurationExitsWithTheKeyNamed() async throws {
        let node = try WeirProcess(["serve", "--set", "http.port=eighty"])
        #expect(try await node.awaitExit() == 2)
        #expect(node.log.contains("invalid value 'eighty' for http.port (from flag --set http.port)"))

        let env = try WeirProcess(["config"], environment: ["WEIR_NODE_ID": "0"])
        #expect(try await env.awaitExit() == 2)
        #expect(env.log.contains("node.id (from environment variable WEIR_NODE_ID)"))
    }
}

@Suite struct BootstrapSafetyTests {
    @Test func aNodeWithPeersButNoStateNeedsBootstrapOrJoin() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-boot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let node = try WeirProcess(
            ["serve", "--data-dir", dataDir, "--http-port", "0", "--peer-listen", "tcp://127.0.0.1:0",
             "--set", "peer.peers=2=tcp://127.0.0.1:1"],
            environment: ["WEIR_CLUSTER_SECRET": "sixteen or more characters"])
        #expect(try await node.awaitExit() == 1)
        #expect(node.log.contains("pass --bootstrap to form a new cluster"))

        let both = try WeirProcess(["config", "--bootstrap", "--join", "http://127.0.0.1:1"],
                                   environment: ["WEIR_CLUSTER_SECRET": "sixteen or more characters"])
        #expect(try await both.awaitExit() == 2)
        #expect(both.log.contains("exclude each other"))
    }
}
