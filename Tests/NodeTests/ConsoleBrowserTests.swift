import Foundation
import MockLLM
import NodeTestSupport
import Testing

/// The web console in a real headless Chromium (`Tests/python/console_e2e.py`, Selenium):
/// sign-in, a token revealed once and revoked, 120 users paged, a non-admin token refused,
/// a script in a display name shown as text, CSRF, and a read-only token's view.
/// `WEIR_SCREENSHOTS=DIR` also writes a screenshot of each page there (`make screenshots`).
@Suite(.serialized, .timeLimit(.minutes(3))) struct ConsoleBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/console_e2e.py").path

    @Test func theConsoleWorksInARealBrowser() async throws {
        let python = try #require(TestPython.interpreter(), Comment(rawValue: TestPython.missing))
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
                     "Chromium and its driver are missing: make test installs them (scripts/install-deps.sh: chromium chromium-driver)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-console-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // mockllm answers the demo models, so the usage screens have requests and costs.
        try await MockLLM(options: MockOptions()).serving { mockPort in
            let port = try freeLoopbackPort()
            let node = try WeirProcess(["serve", "--data-dir", directory, "--http-port", "\(port)", "--peer-listen", "tcp://127.0.0.1:0"],
                                       environment: ["WEIR_PROVIDERS_DEMO_UPSTREAM": "http://127.0.0.1:\(mockPort)/v1"])
            defer { node.signal(SIGKILL) }
            _ = try await node.awaitLog("registered provider credentials")
            let token = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            var arguments = [Self.script, "--url", "http://127.0.0.1:\(port)", "--token", token]
            if let screenshots = ProcessInfo.processInfo.environment["WEIR_SCREENSHOTS"] {
                try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
                arguments += ["--screenshots", screenshots]
            }
            let (status, output) = try TestPython.run(python, arguments)
            #expect(status == 0, "the console checks failed:\n\(output)")
        }
    }
}
