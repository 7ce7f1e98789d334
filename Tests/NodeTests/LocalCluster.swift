import AsyncHTTPClient
import Foundation
import MockLLM
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Testing

/// The `make cluster` launcher (`deploy/local-cluster.sh`) run on free ports with the
/// debug `weir`, in a temporary directory: three nodes n1 n2 n3 behind haproxy.
struct LocalCluster: Sendable {
    let directory: String
    let http: [Int]
    let peer: [Int]
    let balancer: Int
    /// Extra environment for the nodes (`WEIR_PROVIDERS_DEMO_UPSTREAM` …).
    var nodeEnvironment: [String: String] = [:]

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/local-cluster.sh").path

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-cluster-\(UUID().uuidString)").path
        http = try (0..<3).map { _ in try freeLoopbackPort() }
        peer = try (0..<3).map { _ in try freeLoopbackPort() }
        balancer = try freeLoopbackPort()
    }

    /// Runs the launcher with `command`; returns its exit status and output (reaped with
    /// waitpid, see `spawnLogged`).
    @discardableResult
    func launcher(_ command: String) async throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("weir-launcher-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("WEIR_") }
        environment["WEIR_BINARY"] = WeirProcess.binary.path
        environment["CLUSTER_DIR"] = directory
        environment["CLUSTER_HTTP_PORTS"] = http.map(String.init).joined(separator: " ")
        environment["CLUSTER_PEER_PORTS"] = peer.map(String.init).joined(separator: " ")
        environment["CLUSTER_LB_PORT"] = String(balancer)
        environment.merge(nodeEnvironment) { _, new in new }
        let pid = try spawnLogged(["/bin/bash", Self.script, command], environment: environment, output: output)
        var status: Int32 = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                Issue.record("the launcher did not finish '\(command)' within 120 s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    func start() async throws {
        let (status, output) = try await launcher("start")
        guard status == 0 else {
            let logs = (1...3).map { "n\($0).log:\n" + ((try? String(contentsOfFile: "\(directory)/n\($0).log", encoding: .utf8)) ?? "") }
            Issue.record("the launcher failed (\(status)):\n\(output)\n\(logs.joined(separator: "\n"))")
            throw CancellationError()
        }
    }

    func stopAndRemove() async {
        _ = try? await launcher("stop")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// SIGKILL to node `n` (1-based), as a crash; waits until it is gone.
    func killNine(_ n: Int) async throws {
        let text = try String(contentsOfFile: "\(directory)/n\(n).pid", encoding: .utf8)
        let pid = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        try await waitUntilTrue("n\(n) (pid \(pid)) is gone", within: .seconds(10)) { kill(pid, 0) != 0 }
    }

    /// Runs `body` with a fresh cluster (not started yet) whose first start registers a
    /// `mockllm` started here as the demo upstream, and the mock's port; `environment` is
    /// added to the nodes'. The cluster is stopped and removed afterwards, also on failure.
    static func withDemoUpstream(
        environment: [String: String] = [:], _ body: @escaping @Sendable (LocalCluster, Int) async throws -> Void
    ) async throws {
        try await MockLLM(options: MockOptions()).serving { mockPort in
            var cluster = try LocalCluster()
            cluster.nodeEnvironment = ["WEIR_PROVIDERS_DEMO_UPSTREAM": "http://127.0.0.1:\(mockPort)/v1"].merging(environment) { $1 }
            do {
                try await body(cluster, mockPort)
            } catch {
                await cluster.stopAndRemove()
                throw error
            }
            await cluster.stopAndRemove()
        }
    }

    /// Starts the cluster and waits until every node serves the 5 demo models (registered
    /// at first start from `WEIR_PROVIDERS_DEMO_UPSTREAM`).
    func startServingDemoModels() async throws {
        try await start()
        let admin = AdminHTTPClient(token: try adminToken)
        try await waitUntilTrue("every node serves the demo models", within: .seconds(20)) {
            for node in http {
                guard let answer = await admin.call(.GET, port: node, path: "/admin/api/deployments"), (answer.body["items"] as? [Any])?.count == 5 else { return false }
            }
            return true
        }
    }

    /// SIGTERM to node `n` (1-based), a graceful stop; waits until it is gone.
    func terminate(_ n: Int) async throws {
        let text = try String(contentsOfFile: "\(directory)/n\(n).pid", encoding: .utf8)
        let pid = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGTERM)
        try await waitUntilTrue("n\(n) (pid \(pid)) has stopped", within: .seconds(30)) { kill(pid, 0) != 0 }
    }

    var adminToken: String {
        get throws { try String(contentsOfFile: "\(directory)/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}

/// Admin API calls over HTTP; nil when the node does not answer in time.
struct AdminHTTPClient: Sendable {
    let token: String

    func call(_ method: HTTPMethod, port: Int, path: String, json: String? = nil, timeout: Int64 = 15) async -> (status: Int, body: [String: Any])? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(timeout)),
              let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        let object = (try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8))) as? [String: Any] ?? [:]
        return (Int(response.status.code), object)
    }

    /// The user ids a node lists (every page), or nil if it does not answer.
    func userIDs(port: Int, consistent: Bool) async -> Set<String>? {
        var ids = Set<String>(), cursor: String?
        repeat {
            let path = "/admin/api/users?limit=500&consistent=\(consistent)" + (cursor.map { "&cursor=\($0)" } ?? "")
            guard let answer = await call(.GET, port: port, path: path, timeout: 5), answer.status == 200 else { return nil }
            for item in answer.body["items"] as? [[String: Any]] ?? [] { if let id = item["id"] as? String { ids.insert(id) } }
            cursor = answer.body["next_cursor"] as? String
        } while cursor != nil
        return ids
    }

    /// Puts user `id` through the nodes on `ports`, trying each in turn until one
    /// acknowledges or `timeout` passes; true when acknowledged.
    func putUser(_ id: String, through ports: [Int], within timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var attempt = 0
        while ContinuousClock.now < deadline {
            let port = ports[attempt % ports.count]
            attempt += 1
            if let answer = await call(.POST, port: port, path: "/admin/api/users", json: #"{"id":"\#(id)","display_name":"written through \#(port)"}"#),
               answer.status == 200 { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// Polls `condition` until it holds, failing after `timeout`.
func waitUntilTrue(_ what: String, within timeout: Duration, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}
