import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import MockLLM
import NodeTestSupport
import Testing

/// schemathesis (pinned in Tests/python/requirements.txt) generates requests for every
/// operation of a real node's `/openapi.json`, data plane included, and checks that none is
/// answered with a server error of the node's own making (`not_a_server_error`). A short
/// run here; `make fuzz` runs it long. The seed is printed; `WEIR_SCHEMATHESIS_SEED` replays
/// one, `WEIR_SCHEMATHESIS_SECONDS` sets the time budget.
@Suite(.serialized, .timeLimit(.minutes(60))) struct SchemathesisTests {
    /// Operations left out: they take the only node out of service, or add members that do
    /// not exist (a join with a well-formed id and address succeeds), so every later call
    /// that asks all members would see a 503 that is no bug.
    static let excluded = ["postClusterDrain", "postClusterRemove", "postClusterJoin"]

    /// Found by the run once the schemas said what a node id is: two backups in the same
    /// second at the same applied index got the same directory, and the second was a 503
    /// ("choose a new directory", which the caller cannot). Several at once all succeed now.
    @Test func backupsTakenAtOnceGetTheirOwnDirectories() async throws {
        try await DemoNode.with("backups") { demo in
            let paths = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        var request = HTTPClientRequest(url: demo.base + "/admin/api/cluster/backup")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(demo.token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"node":"n1"}"#))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                        #expect(response.status.code == 200, "\(body)")
                        return body
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(paths).count == 5, "\(paths)")
        }
    }
    /// The data plane's allowed upstream statuses (Tests/python/schemathesis.toml).
    static let configFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/schemathesis.toml").path

    @Test func noGeneratedRequestGetsAServerError() async throws {
        let python = try #require(TestPython.interpreter(), Comment(rawValue: TestPython.missing))
        let schemathesis = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        try #require(FileManager.default.isExecutableFile(atPath: schemathesis), "schemathesis is missing from the test venv: run make test")
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["WEIR_SCHEMATHESIS_SEED"] ?? String(UInt64.random(in: 1...UInt64(UInt32.max)))
        let seconds = environment["WEIR_SCHEMATHESIS_SECONDS"] ?? "60"
        print("schemathesis: seed \(seed) (replay with WEIR_SCHEMATHESIS_SEED=\(seed)), \(seconds) s")
        try await DemoNode.with("schemathesis") { demo in
            let node = demo.node, port = demo.port, token = demo.token
            let arguments = [
                "--config-file", Self.configFile, "run", "http://127.0.0.1:\(port)/openapi.json", "--header", "Authorization: Bearer \(token)",
                "--checks", "not_a_server_error", "--phases", "coverage,fuzzing", "--max-examples", "25",
                "--max-time", seconds, "--workers", "1", "--seed", seed, "--request-timeout", "30", "--no-color",
            ] + Self.excluded.flatMap { ["--exclude-operation-id", $0] }
            let (status, output) = try await TestPython.runDetached(schemathesis, arguments)
            let summary = output.split(separator: "\n").filter { $0.contains("generated") || $0.contains("passed") || $0.contains("failure") }
            print(summary.map { "schemathesis: \($0)" }.joined(separator: "\n"))
            #expect(status == 0, "schemathesis found server errors (seed \(seed)):\n\(output.suffix(20_000))")
            #expect(node.process.isRunning, "the node survived:\n\(node.log.suffix(4_000))")
        }
    }
}
