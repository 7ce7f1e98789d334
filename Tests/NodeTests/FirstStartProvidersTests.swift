import Foundation
import MockLLM
import NIOHTTP1
import NodeTestSupport
import Testing

/// What `make run` relies on: a first start registers a demo upstream (or the provider
/// keys in the environment) so a completion works at once.
@Suite(.serialized, .timeLimit(.minutes(2))) struct FirstStartProvidersTests {
    private func start(_ directory: String, port: Int, extra: [String], environment: [String: String] = [:]) throws -> WeirProcess {
        try WeirProcess(
            ["serve", "--data-dir", directory, "--http-port", "\(port)", "--peer-listen", "tcp://127.0.0.1:0"] + extra,
            environment: environment)
    }

    @Test func aDemoUpstreamAnswersAtOnce() async throws {
        let mock = MockLLM(options: MockOptions())
        try await mock.serving { mockPort in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-demo-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let port = try freeLoopbackPort()
            let node = try start(directory, port: port, extra: ["--set", "providers.demo_upstream=http://127.0.0.1:\(mockPort)/v1"])
            _ = try await node.awaitLog("registered provider credentials")
            let token = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let api = AdminHTTPClient(token: token)
            let answer = await api.call(.POST, port: port, path: "/v1/chat/completions", json: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(answer?.status == 200, "\(String(describing: answer))")
            let content = ((answer?.body["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            #expect(content?.hasPrefix("This is mockllm answering gpt-4o-mini") == true)
            let pricing = await api.call(.GET, port: port, path: "/admin/api/pricing?scope=model")
            #expect((pricing?.body["items"] as? [Any])?.count == 5, "every demo model has a list price")
            node.signal(SIGTERM)
            #expect(try await node.awaitExit() == 0)
        }
    }

    @Test func providerKeysInTheEnvironmentBecomeSealedCredentials() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freeLoopbackPort()
        let secret = "sk-test-environment-key-4242"
        let node = try start(directory, port: port, extra: ["--set", "providers.demo_upstream=http://127.0.0.1:1/v1"],
                             environment: ["OPENAI_API_KEY": secret, "ANTHROPIC_API_KEY": "sk-ant-test-4242", "OLLAMA_BASE_URL": "http://127.0.0.1:11434"])
        _ = try await node.awaitLog("registered provider credentials")
        let token = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let api = AdminHTTPClient(token: token)
        let credentials = await api.call(.GET, port: port, path: "/admin/api/credentials")
        let ids = (credentials?.body["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == ["key:anthropic:env", "key:openai:env"], "the demo upstream is not registered when keys are given")
        #expect((credentials?.body["items"] as? [[String: Any]])?.allSatisfy { $0["has_secret"] as? Bool == true } == true)
        let settings = await api.call(.GET, port: port, path: "/admin/api/settings")
        #expect(settings?.body["ollama_enabled"] as? Bool == true)
        node.signal(SIGTERM)
        #expect(try await node.awaitExit() == 0)
        #expect(!node.log.contains(secret), "the key is never logged")
    }
}
