import AsyncHTTPClient
import Foundation
import MockLLM
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Synchronization
import Testing

/// `clusterctl` against three real nodes behind haproxy: status after a kill -9 and a
/// restart, and a drain of the leader while a client loop runs through the load balancer
/// and sees no failed request.
@Suite(.serialized, .timeLimit(.minutes(4))) struct OperationsClusterTests {
    /// `clusterctl` from the debug build beside the test bundle.
    static var clusterctl: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("clusterctl").path
    }

    /// Runs clusterctl with `arguments` against `cluster`'s first node; returns its exit status and output.
    private func clusterctl(
        _ cluster: LocalCluster, _ arguments: [String], node: Int = 0, environment override: [String: String]? = nil
    ) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let environment = try override ?? ["WEIR_ADDRESS": "http://127.0.0.1:\(cluster.http[node])", "WEIR_TOKEN": cluster.adminToken, "WEIR_CONFIG": "/nonexistent"]
        let pid = try spawnLogged([Self.clusterctl] + arguments, environment: environment, output: output)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// `clusterctl` as an operator runs it after losing a node: while the cluster answers
    /// that it has no leader yet ("retry in a moment", an election after the kill), again,
    /// within `timeout`. Any other answer is returned as it is.
    private func clusterctlOnceLed(
        _ cluster: LocalCluster, _ arguments: [String], within timeout: Duration = .seconds(20)
    ) async throws -> (status: Int32, output: String) {
        var last = try clusterctl(cluster, arguments)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while last.status != 0, last.output.contains("retry in a moment"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            last = try clusterctl(cluster, arguments)
        }
        return last
    }

    private func status(_ cluster: LocalCluster, node: Int = 0) throws -> [String: Any] {
        let (code, output) = try clusterctl(cluster, ["status", "-o", "json"], node: node)
        guard code == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            Issue.record("clusterctl status failed (\(code)): \(output)")
            return [:]
        }
        return object
    }

    /// What the client loop saw, and its stop flag.
    private final class LoopState: Sendable {
        let outcomes = Mutex((ok: 0, failed: [String]()))
        let stop = Atomic(false)
    }

    /// Six clients sending chat requests through haproxy until `state.stop`.
    private func clientLoop(_ cluster: LocalCluster, _ state: LoopState) throws -> Task<Void, Never> {
        let token = try cluster.adminToken
        let balancer = cluster.balancer
        return Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        while !state.stop.load(ordering: .relaxed) {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(balancer)/v1/chat/completions")
                            request.method = .POST
                            request.headers.add(name: "Authorization", value: "Bearer \(token)")
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o-mini","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#))
                            do {
                                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
                                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                                state.outcomes.withLock { response.status == .ok ? ($0.ok += 1) : $0.failed.append("\(response.status.code) \(body.prefix(200))") }
                            } catch {
                                state.outcomes.withLock { $0.failed.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The config file, the environment and flags in kubectl's order, and the policy
    /// operations with both outputs.
    private func policyOperations(_ cluster: LocalCluster) throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("clusterctl-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "address: http://127.0.0.1:\(cluster.http[1])\ntoken_file: \(cluster.directory)/admin.token\n".write(toFile: config, atomically: true, encoding: .utf8)
        let fromFile = ["WEIR_CONFIG": config]
        let applied = try clusterctl(cluster, ["apply", "users", "--json", #"{"id":"user:cli","email":"cli@example.com"}"#, "--reason", "from clusterctl"], environment: fromFile)
        #expect(applied.status == 0 && applied.output.contains("user:cli"), "apply through the config file: \(applied.output)")
        let listed = try clusterctl(cluster, ["get", "users", "--filter", "status=active"], environment: fromFile)
        #expect(listed.status == 0 && listed.output.contains("cli@example.com") && listed.output.hasPrefix("ID"), "get users: \(listed.output)")
        let one = try clusterctl(cluster, ["get", "users", "user:cli", "-o", "json"], environment: fromFile)
        #expect(((try? JSONSerialization.jsonObject(with: Data(one.output.utf8))) as? [String: Any])?["email"] as? String == "cli@example.com", "\(one.output)")
        let wrongEnv = try clusterctl(cluster, ["get", "users"], environment: fromFile.merging(["WEIR_TOKEN": "weir_wrong"]) { $1 })
        #expect(wrongEnv.status != 0 && wrongEnv.output.contains("401"), "WEIR_TOKEN wins over the file: \(wrongEnv.output)")
        let flag = try clusterctl(cluster, ["get", "users", "--token", try cluster.adminToken], environment: fromFile.merging(["WEIR_TOKEN": "weir_wrong"]) { $1 })
        #expect(flag.status == 0, "--token wins over WEIR_TOKEN: \(flag.output)")
        let missing = try clusterctl(cluster, ["get", "users", "--config", "/nonexistent/clusterctl.yaml"], environment: [:])
        #expect(missing.status != 0 && missing.output.contains("does not exist"), "\(missing.output)")
    }

    /// A console session signed in on one node is accepted by the others (the cookie is
    /// keyed from the cluster secret), and their pages show the whole cluster.
    private func consoleAcrossNodes(_ cluster: LocalCluster) async throws {
        var signIn = HTTPClientRequest(url: "http://127.0.0.1:\(cluster.http[0])/admin/signin")
        signIn.method = .POST
        signIn.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        signIn.body = .bytes(ByteBuffer(string: "token=" + (try cluster.adminToken)))
        // The sign-in's answer itself, not where it redirects.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let signedIn: HTTPClientResponse
        do {
            signedIn = try await client.execute(signIn, timeout: .seconds(10))
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
        let cookie = try #require(signedIn.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init), "no session cookie")
        for node in [1, 2] {
            var page = HTTPClientRequest(url: "http://127.0.0.1:\(cluster.http[node])/admin/cluster")
            page.headers.add(name: "Cookie", value: cookie)
            let response = try await HTTPClient.shared.execute(page, timeout: .seconds(10))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status == .ok && ["n1", "n2", "n3"].allSatisfy { body.contains(">\($0)<") } && body.contains("leader"),
                    "node \(node + 1)'s cluster page with node 1's session: \(response.status) \(body.prefix(300))")
        }
    }

    private static func members(_ status: [String: Any]) -> [[String: Any]] { status["members"] as? [[String: Any]] ?? [] }

    @Test func statusFollowsAKillAndADrainOfTheLeaderFailsNoRequest() async throws {
        try await LocalCluster.withDemoUpstream(environment: ["WEIR_DRAIN_LB_GRACE_MS": "2000"]) { cluster, _ in try await exercise(cluster) }
    }

    @Test func aRollingRestartFailsNoRequest() async throws {
        try await LocalCluster.withDemoUpstream(environment: ["WEIR_DRAIN_LB_GRACE_MS": "2000"]) { cluster, _ in
            try await cluster.startServingDemoModels()
            let state = LoopState()
            let loop = try clientLoop(cluster, state)
            try await waitUntilTrue("the loop is running", within: .seconds(10)) { state.outcomes.withLock { $0.ok } > 20 }
            try await rollingRestart(cluster, underTraffic: true)
            let before = state.outcomes.withLock { $0.ok }
            try await waitUntilTrue("requests go on after the restarts", within: .seconds(10)) { state.outcomes.withLock { $0.ok } > before + 50 }
            state.stop.store(true, ordering: .relaxed)
            await loop.value
            let result = state.outcomes.withLock { $0 }
            #expect(result.failed.isEmpty, "\(result.failed.count) requests failed during the rolling restart, e.g. \(result.failed.prefix(3))")
            print("rolling restart: \(result.ok) requests served, \(result.failed.count) failed")
        }
    }

    /// A lost node replaced by one restored from its backup: the new node joins under its
    /// own id, receives the policy written after the backup, and brings the lost node's
    /// usage history back into the cluster's answers, once.
    @Test func aNodeRestoredFromABackupJoinsAndConverges() async throws {
        try await LocalCluster.withDemoUpstream(environment: ["WEIR_DRAIN_LB_GRACE_MS": "0"]) { cluster, _ in
            let restored = try await restoreAndJoin(cluster)
            restored.signal(SIGTERM)
        }
    }

    private func restoreAndJoin(_ cluster: LocalCluster) async throws -> WeirProcess {
        try await cluster.startServingDemoModels()
        let admin = AdminHTTPClient(token: try cluster.adminToken)
        // Three requests served by n3, then its backup.
        for _ in 0..<3 {
            let answer = await admin.call(.POST, port: cluster.http[2], path: "/v1/chat/completions", json: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(answer?.status == 200)
        }
        try await waitUntilTrue("n3 wrote its usage events", within: .seconds(10)) {
            let logs = await admin.call(.GET, port: cluster.http[2], path: "/admin/api/usage/logs?period=1h")
            return (logs?.body["items"] as? [[String: Any]])?.filter { $0["node"] as? Int == 3 }.count == 3
        }
        let (code, output) = try clusterctl(cluster, ["backup", "n3", "-o", "json"])
        let backup = try #require(((try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any])?["path"] as? String, "clusterctl backup: \(code) \(output)")
        #expect(FileManager.default.fileExists(atPath: backup + "/CURRENT"))
        // Policy written after the backup; then n3 is lost and removed.
        #expect(await admin.call(.POST, port: cluster.http[0], path: "/admin/api/users", json: #"{"id":"user:after-backup"}"#)?.status == 200)
        try await cluster.killNine(3)
        let removed = try await clusterctlOnceLed(cluster, ["remove", "n3"])  // n3 may have led
        #expect(removed.status == 0, "clusterctl remove: \(removed.output)")

        let directory = cluster.directory + "/n4"
        let restore = try WeirProcess(["restore", "--from", backup, "--data-dir", directory])
        try await waitUntilTrue("weir restore finished", within: .seconds(20)) { !restore.process.isRunning }
        #expect(restore.process.terminationStatus == 0 && restore.log.contains("3 usage events kept"), "weir restore: \(restore.log)")
        let http = try freeLoopbackPort(), peer = try freeLoopbackPort()
        let joined = try await clusterctlOnceLed(cluster, ["join", "n4", "--peer-address", "tcp://127.0.0.1:\(peer)"])
        #expect(joined.status == 0 && joined.output.contains("learner"), "clusterctl join: \(joined.output)")
        let node = try WeirProcess(
            ["serve", "--node-id", "n4", "--data-dir", directory, "--http-port", "\(http)", "--peer-listen", "tcp://127.0.0.1:\(peer)",
             "--join", "http://127.0.0.1:\(cluster.http[0])", "--set", "cluster.id=local",
             "--set", "cluster.secret_file=\(cluster.directory)/cluster.secret", "--set", "cluster.kek_file=\(cluster.directory)/kek.key"],
            environment: ["WEIR_PROVIDERS_DEMO_UPSTREAM": "http://127.0.0.1:1/v1"])
        try await waitUntilTrue("n4 joined as a voter, ready and caught up", within: .seconds(40)) {
            let members = Self.members((try? self.status(cluster)) ?? [:])
            let n4 = members.first { $0["node_id"] as? Int == 4 }
            return members.count == 3 && n4?["membership"] as? String == "voter"
                && (n4?["report"] as? [String: Any])?["ready"] as? Bool == true && n4?["lag"] as? Int == 0
        }
        #expect(await admin.call(.GET, port: http, path: "/admin/api/users/user:after-backup")?.status == 200, "n4 has the policy written after the backup")
        let logs = await admin.call(.GET, port: cluster.http[0], path: "/admin/api/usage/logs?period=1h")
        let items = logs?.body["items"] as? [[String: Any]] ?? []
        #expect(items.filter { $0["node"] as? Int == 4 }.count == 3 && items.count == 3, "n3's requests answered once, by n4 now: \(items.map { $0["request"] ?? "" })")
        return node
    }

    /// Both rotations of docs/operations.md on a live cluster, each a rolling restart per
    /// step: the cluster stays whole throughout, a credential sealed under the old key
    /// works under the new one after `clusterctl reseal`, and the old secret is refused at
    /// the end.
    @Test func theClusterSecretAndTheKEKRotateWithoutDowntime() async throws {
        try await LocalCluster.withDemoUpstream(environment: ["WEIR_DRAIN_LB_GRACE_MS": "0"]) { cluster, mockPort in
            try await rotate(cluster, mockPort: mockPort)
        }
    }

    private func rotate(_ initial: LocalCluster, mockPort: Int) async throws {
        var cluster = initial
        try await cluster.start()
        let admin = AdminHTTPClient(token: try cluster.adminToken)
        let secretFile = cluster.directory + "/cluster.secret", kekFile = cluster.directory + "/kek.key"
        let oldSecret = try String(contentsOfFile: secretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let newSecret = "the next cluster secret, rotated in by the test"
        // A credential with a secret, and a deployment that uses it (mockllm records the key).
        let credential = #"{"id":"key:openai-compatible:rot","provider":"openai-compatible","base_url":"http://127.0.0.1:\#(mockPort)/v1","secret":"sk-rotation-secret-0123456789"}"#
        #expect(await admin.call(.POST, port: cluster.http[0], path: "/admin/api/credentials", json: credential)?.status == 200)
        let deployment = #"{"id":"rot","model":"rotation-model","credential":"key:openai-compatible:rot","upstream_model":"gpt-4o-mini"}"#
        #expect(await admin.call(.POST, port: cluster.http[0], path: "/admin/api/deployments", json: deployment)?.status == 200)
        #expect(await admin.call(.POST, port: cluster.http[0], path: "/admin/api/pricing", json: #"{"scope":"model","subject":"rotation-model","per_1k":0.001}"#)?.status == 201)

        // Cluster secret, step 1: accept the next one.
        try newSecret.write(toFile: cluster.directory + "/next.secret", atomically: true, encoding: .utf8)
        cluster.nodeEnvironment["WEIR_CLUSTER_ACCEPTED_SECRET_FILE"] = cluster.directory + "/next.secret"
        try await rollingRestart(cluster)
        // Step 2 (and the KEK's step 1): send with the next secret, accept the old one; a new
        // KEK opens, the old one is accepted.
        try oldSecret.write(toFile: cluster.directory + "/old.secret", atomically: true, encoding: .utf8)
        try newSecret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: kekFile, toPath: cluster.directory + "/old.kek")
        let newKEK = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try newKEK.write(toFile: kekFile, atomically: true, encoding: .utf8)
        cluster.nodeEnvironment["WEIR_CLUSTER_ACCEPTED_SECRET_FILE"] = cluster.directory + "/old.secret"
        cluster.nodeEnvironment["WEIR_CLUSTER_ACCEPTED_KEK_FILE"] = cluster.directory + "/old.kek"
        try await rollingRestart(cluster)
        let resealed = try clusterctl(cluster, ["reseal", "-o", "json"])
        #expect(resealed.status == 0 && resealed.output.contains("key:openai-compatible:rot"), "clusterctl reseal: \(resealed.output)")
        // Step 3: the old secret and key are gone.
        cluster.nodeEnvironment["WEIR_CLUSTER_ACCEPTED_SECRET_FILE"] = nil
        cluster.nodeEnvironment["WEIR_CLUSTER_ACCEPTED_KEK_FILE"] = nil
        try await rollingRestart(cluster)

        _ = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(mockPort)/_mock/requests"), timeout: .seconds(5))
        var clear = HTTPClientRequest(url: "http://127.0.0.1:\(mockPort)/_mock/requests")
        clear.method = .DELETE
        _ = try await HTTPClient.shared.execute(clear, timeout: .seconds(5))
        for node in cluster.http {
            let answer = await admin.call(.POST, port: node, path: "/v1/chat/completions", json: #"{"model":"rotation-model","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(answer?.status == 200, "a request on the resealed credential through :\(node): \(String(describing: answer))")
        }
        let recorded = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(mockPort)/_mock/requests"), timeout: .seconds(5))
        let text = String(buffer: try await recorded.body.collect(upTo: 1 << 20))
        #expect(text.components(separatedBy: "sk-rotation-secret-0123456789").count - 1 == 3, "mockllm got the credential's secret each time: \(text.prefix(300))")
        let oldClient = SignedClusterClient(secret: oldSecret), newClient = SignedClusterClient(secret: newSecret)
        #expect(await oldClient.status(cluster.http[0]) == nil, "the old secret is refused")
        #expect(await newClient.status(cluster.http[0]) != nil)
    }

    /// Restarts n1, n2, n3 in turn (SIGTERM), each back ready and caught up before the next.
    /// With `underTraffic` (a client loop through haproxy runs), the next node goes only
    /// once the restarted one serves requests again.
    private func rollingRestart(_ cluster: LocalCluster, underTraffic: Bool = false) async throws {
        for node in 1...3 {
            try await cluster.terminate(node)
            try await cluster.start()
            // What the last look saw goes into the failure: CI shows no node logs.
            let seen = Mutex("")
            do {
                try await waitUntilTrue("n\(node) is back, ready and caught up", within: .seconds(60)) {
                    let members = Self.members((try? self.status(cluster, node: node - 1)) ?? [:])
                    seen.withLock { $0 = members.map { "n\($0["node_id"] ?? "?"): ready \(($0["report"] as? [String: Any])?["ready"] ?? "?") lag \($0["lag"] ?? "?") reachable \($0["reachable"] ?? "?")" }.joined(separator: "; ") }
                    return members.count == 3 && members.allSatisfy { ($0["report"] as? [String: Any])?["ready"] as? Bool == true && $0["lag"] as? Int == 0 }
                }
            } catch {
                Issue.record("n\(node)'s status when the wait ended: \(seen.withLock { $0 })")
                throw error
            }
            // As an operator would: the next node goes only once the load balancer sends
            // this one traffic again (haproxy needs `rise` good checks after ready).
            guard underTraffic else { continue }
            try await waitUntilTrue("haproxy sends n\(node) requests again", within: .seconds(15)) {
                await Self.servedRequests(port: cluster.http[node - 1]) > 0
            }
        }
    }

    /// Requests a node answered since it started, from its `weir_requests_total` lines.
    private static func servedRequests(port: Int) async -> Int {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5)),
              let body = try? await response.body.collect(upTo: 8 << 20) else { return 0 }
        return String(buffer: body).split(separator: "\n")
            .filter { $0.hasPrefix("weir_requests_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }

    private func exercise(_ cluster: LocalCluster) async throws {
        try await cluster.startServingDemoModels()
        var overview = try status(cluster)
        #expect(Self.members(overview).count == 3 && Self.members(overview).allSatisfy { $0["reachable"] as? Bool == true })
        #expect(Self.members(overview).allSatisfy { ($0["report"] as? [String: Any])?["ready"] as? Bool == true }, "\(overview)")
        let (tableCode, table) = try clusterctl(cluster, ["status"])
        #expect(tableCode == 0 && table.contains("NODE") && table.split(separator: "\n").count == 5, "the table: \(table)")

        try policyOperations(cluster)
        try await consoleAcrossNodes(cluster)

        // kill -9 of a follower shows as unreachable; a restart brings it back.
        let leader = try #require(overview["leader"] as? Int)
        let victim = [1, 2, 3].first { $0 != leader }!
        try await cluster.killNine(victim)
        try await waitUntilTrue("status shows n\(victim) unreachable", within: .seconds(15)) {
            let members = Self.members((try? self.status(cluster, node: leader - 1)) ?? [:])
            return members.first { $0["node_id"] as? Int == victim }?["reachable"] as? Bool == false
                && members.filter { $0["reachable"] as? Bool == true }.count == 2
        }
        try await cluster.start()
        try await waitUntilTrue("n\(victim) is back, ready and caught up", within: .seconds(30)) {
            let members = Self.members((try? self.status(cluster)) ?? [:])
            return members.count == 3 && members.allSatisfy { ($0["report"] as? [String: Any])?["ready"] as? Bool == true && $0["lag"] as? Int == 0 }
        }

        // A client loop through haproxy while the leader drains.
        overview = try status(cluster)
        let draining = try #require(overview["leader"] as? Int)
        let state = LoopState()
        let loop = try clientLoop(cluster, state)
        try await waitUntilTrue("the loop is running", within: .seconds(10)) { state.outcomes.withLock { $0.ok } > 20 }
        let before = state.outcomes.withLock { $0.ok }
        let other = [1, 2, 3].first { $0 != draining }!
        let (drainCode, drained) = try clusterctl(cluster, ["drain", "n\(draining)", "-o", "json"], node: other - 1)
        // Drained, the node can go at once: the load balancer no longer sends it anything.
        try await cluster.killNine(draining)
        try await waitUntilTrue("requests go on after the drain", within: .seconds(10)) { state.outcomes.withLock { $0.ok } > before + 50 }
        state.stop.store(true, ordering: .relaxed)
        await loop.value
        let result = state.outcomes.withLock { $0 }
        #expect(drainCode == 0, "clusterctl drain: \(drained)")
        #expect(result.failed.isEmpty, "\(result.failed.count) requests failed while n\(draining) drained, e.g. \(result.failed.prefix(3))")
        let report = (try? JSONSerialization.jsonObject(with: Data(drained.utf8))) as? [String: Any] ?? [:]
        #expect(report["in_flight_left"] as? Int == 0 && report["leadership_handed_to"] as? Int != nil, "\(drained)")
        overview = try status(cluster, node: other - 1)
        #expect(overview["leader"] as? Int != draining && Self.members(overview).count == 2, "after the drain: \(overview)")
        print("drain: \(result.ok) requests served, \(result.failed.count) failed, while n\(draining) (the leader) drained")
    }
}
