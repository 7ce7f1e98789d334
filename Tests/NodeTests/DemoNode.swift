import AsyncHTTPClient
import Foundation
import MockLLM
import NIOCore
import NIOHTTP1
import NodeTestSupport

/// One real `weir` process with an in-process mockllm as its demo upstream (what `make run`
/// starts), ready and with its admin token read, for the length of `body`.
struct DemoNode: Sendable {
    let node: WeirProcess
    let port: Int
    let token: String
    var base: String { "http://127.0.0.1:\(port)" }

    static func with(_ name: String, _ body: @Sendable (DemoNode) async throws -> Void) async throws {
        try await MockLLM(options: MockOptions()).serving { mockPort in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-\(name)-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let port = try freeLoopbackPort()
            let node = try WeirProcess([
                "serve", "--data-dir", directory, "--http-port", "\(port)", "--peer-listen", "tcp://127.0.0.1:0",
                "--set", "providers.demo_upstream=http://127.0.0.1:\(mockPort)/v1",
            ])
            defer { if node.process.isRunning { node.signal(SIGKILL) } }
            _ = try await node.awaitLog("registered provider credentials")
            try await waitUntilTrue("the node is ready", within: .seconds(20)) {
                guard let response = try? await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/health/ready"), timeout: .seconds(5)) else { return false }
                return response.status.code == 200
            }
            let token = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            try await body(DemoNode(node: node, port: port, token: token))
        }
    }
}
