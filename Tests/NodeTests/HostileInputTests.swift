import AsyncHTTPClient
import Foundation
import MockLLM
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Testing

/// Seeded hostile input against one real `weir` process (`Tests/python/hostile_e2e.py`):
/// every data-plane endpoint and every admin operation of `/openapi.json` with mutated
/// bodies, headers and query strings, client disconnects at each phase, HTTP-level junk, a
/// slowloris socket and a hostile provider beside mockllm. The node must never answer 500
/// nor die, and every quota reservation must be settled at the end.
///
/// `WEIR_HOSTILE_SEED` replays a run (the seed is printed either way), `WEIR_HOSTILE_CASES`
/// sets the number of cases (600). The script prints a replay command for each failure.
@Suite(.serialized, .timeLimit(.minutes(5))) struct HostileInputTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/hostile_e2e.py").path

    /// The test packages' Python when there is one, else any `python3` on `PATH`: the
    /// script needs only the standard library.
    static func python() -> String? {
        if let pinned = TestPython.interpreter() { return pinned }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func aNodeSurvivesSeededHostileInput() async throws {
        let python = try #require(Self.python(), "no python3 on PATH (and no WEIR_PYTHON)")
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["WEIR_HOSTILE_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(Int32.max))
        let cases = environment["WEIR_HOSTILE_CASES"].flatMap { Int($0) } ?? 600
        print("hostile: seed \(seed), \(cases) cases (WEIR_HOSTILE_SEED=\(seed) replays this run)")

        try await DemoNode.with("hostile") { demo in
            let node = demo.node, base = demo.base, token = demo.token
            let (status, output) = try await TestPython.runDetached(python, [
                Self.script, "--base", base, "--token", token, "--seed", "\(seed)", "--cases", "\(cases)",
            ])
            let alive = node.process.isRunning
            let nodeLog = node.log.split(separator: "\n", omittingEmptySubsequences: false).suffix(80).joined(separator: "\n")
            #expect(status == 0, "hostile input failed (seed \(seed); replay with WEIR_HOSTILE_SEED=\(seed)):\n\(output)\nthe node's last log lines:\n\(nodeLog)")
            #expect(alive, "the node died during the hostile run (seed \(seed)); its last log lines:\n\(nodeLog)")
            print(output.split(separator: "\n").filter { $0.hasPrefix("hostile:") }.joined(separator: "\n"))

            if alive {
                node.signal(SIGTERM)
                #expect(try await node.awaitExit() == 0, "the node did not stop cleanly after the hostile run:\n\(nodeLog)")
            }
        }
    }
}
