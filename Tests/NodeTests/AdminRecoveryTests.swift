import Foundation
import NIOHTTP1
import NodeTestSupport
import Testing

/// The last super-admin token cannot be revoked, and a stopped node can be told to issue
/// a new one (`weir recover-admin`) when none is usable.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AdminRecoveryTests {
    private func start(_ dataDir: String) async throws -> (node: WeirProcess, port: Int) {
        let node = try WeirProcess(["serve", "--data-dir", dataDir, "--http-port", "0", "--peer-listen", "tcp://127.0.0.1:0"])
        return (node, Int(try await node.awaitLog(#"http_port=(\d+)"#))!)
    }

    private func token(_ dataDir: String) async throws -> String {
        let file = dataDir + "/admin.token"
        try await waitUntil("the admin token is written", within: .seconds(30)) { FileManager.default.fileExists(atPath: file) }
        return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theLastSuperAdminStaysAndAStoppedNodeCanIssueANewOne() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-recover-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        var (node, port) = try await start(dataDir)
        let first = try await token(dataDir)
        let admin = AdminHTTPClient(token: first)
        let tokens = try #require(await admin.call(.GET, port: port, path: "/admin/api/tokens?consistent=true"))
        let id = try #require(((tokens.body["items"] as? [[String: Any]])?.first { ($0["scopes"] as? [String])?.contains("admin.super") == true })?["id"] as? String)
        let refused = await admin.call(.POST, port: port, path: "/admin/api/tokens/\(id)/revoke", json: #"{"reason":"oops"}"#)
        #expect(refused?.status == 422 || refused?.status == 400, "\(String(describing: refused))")
        #expect("\(refused?.body ?? [:])".contains("last usable super-admin"))

        let whileRunning = try WeirProcess(["recover-admin", "--data-dir", dataDir])
        #expect(try await whileRunning.awaitExit() == 1, "a running node's data directory is refused")
        #expect(whileRunning.log.contains("is running"))

        node.signal(SIGTERM)
        #expect(try await node.awaitExit() == 0)
        let recover = try WeirProcess(["recover-admin", "--data-dir", dataDir])
        #expect(try await recover.awaitExit() == 0, "\(recover.log)")
        #expect(FileManager.default.fileExists(atPath: dataDir + "/admin.recovery"))

        (node, port) = try await start(dataDir)
        defer { node.signal(SIGKILL) }
        try await waitUntil("the recovery completes", within: .seconds(30)) { !FileManager.default.fileExists(atPath: dataDir + "/admin.recovery") }
        let second = try await token(dataDir)
        #expect(second != first)
        let recovered = await AdminHTTPClient(token: second).call(.GET, port: port, path: "/admin/api/history?consistent=true")
        #expect(recovered?.status == 200 && "\(recovered?.body ?? [:])".contains("system:recover-admin"), "\(String(describing: recovered))")
        // Now two super-admin tokens exist: the first may go.
        let revoked = await AdminHTTPClient(token: second).call(.POST, port: port, path: "/admin/api/tokens/\(id)/revoke", json: #"{"reason":"rotated"}"#)
        #expect(revoked?.status == 200, "\(String(describing: revoked))")
    }
}
