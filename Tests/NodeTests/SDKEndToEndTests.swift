import Foundation
import MockLLM
import NIOHTTP1
import NodeTestSupport
import Testing

/// The official openai and anthropic SDKs against three nodes behind haproxy, mockllm the
/// only provider (`Tests/python/sdk_e2e.py`): chat, streamed chat, embeddings, messages,
/// streamed messages, fallback on injected 500s, and a cap of 300 requests per 10 s hit
/// through all three nodes at once.
@Suite(.serialized, .timeLimit(.minutes(4))) struct SDKEndToEndTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/sdk_e2e.py").path

    @Test func theOfficialSDKsWorkThroughTheCluster() async throws {
        let python = try #require(TestPython.interpreter(), Comment(rawValue: TestPython.missing))
        try await LocalCluster.withDemoUpstream { cluster, mockPort in try await exercise(cluster, python: python, mockPort: mockPort) }
    }

    static let usageScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/usage_e2e.py").path

    /// `Tests/python/usage_e2e.py`: DLP round trip, bypass, cache hit, cost per day, logs,
    /// error reports and the CSV export, each asked of every node.
    @Test func usageAnalyticsAndDLPAreClusterWide() async throws {
        let python = try #require(TestPython.interpreter(), Comment(rawValue: TestPython.missing))
        try await LocalCluster.withDemoUpstream { cluster, mockPort in
            try await cluster.startServingDemoModels()
            let nodes = cluster.http.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
            let (status, output) = try TestPython.run(python, [
                Self.usageScript, "--balancer", "http://127.0.0.1:\(cluster.balancer)", "--nodes", nodes,
                "--token", try cluster.adminToken, "--mock", "http://127.0.0.1:\(mockPort)",
            ])
            #expect(status == 0, "the usage checks failed:\n\(output)")
            print(output.split(separator: "\n").filter { $0.hasPrefix("usage:") }.joined(separator: "\n"))
        }
    }

    private func exercise(_ cluster: LocalCluster, python: String, mockPort: Int) async throws {
        try await cluster.startServingDemoModels()
        let admin = AdminHTTPClient(token: try cluster.adminToken)
        let port = cluster.http[0]
        let fallback = await admin.call(.POST, port: port, path: "/admin/api/fallbacks",
                                        json: #"{"primary_model":"gpt-4o","chain":["gpt-4o-mini"],"triggers":["provider_error"]}"#)
        #expect(fallback?.status == 200, "\(String(describing: fallback))")
        // Every node has applied the policy before the SDKs start.
        let capSecret = try await cluster.cappedToken(name: "cap test", maxRequests: 300)

        let nodes = cluster.http.map { "http://127.0.0.1:\($0)" }.joined(separator: ",")
        let (status, output) = try TestPython.run(python, [
            Self.script, "--balancer", "http://127.0.0.1:\(cluster.balancer)", "--nodes", nodes,
            "--token", try cluster.adminToken, "--cap-token", capSecret, "--mock", "http://127.0.0.1:\(mockPort)",
        ])
        #expect(status == 0, "the SDK checks failed:\n\(output)")
        print(output.split(separator: "\n").filter { $0.hasPrefix("cap:") }.joined(separator: "\n"))
    }
}
