import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NodeTestSupport
import Synchronization
import Testing

/// A node that joins a cluster whose log is compacted gets the policy as a streamed
/// snapshot, and answers /health/ready 503 (`catch_up`) until it has applied its leader's
/// commit index: behind haproxy, a client never meets the joining node before it knows the
/// tokens (it used to answer ready at once and refuse every client with 401).
@Suite(.serialized, .timeLimit(.minutes(4))) struct JoinReadinessProcessTests {
    static let users = 1500

    @Test func aJoiningNodeAnswersNoClientThroughTheBalancerBeforeItHoldsThePolicy() async throws {
        let layout = try ProcessClusterLayout("join-ready", secret: "a join readiness test secret", size: 2, members: 1)
        defer { layout.removeRoot() }
        // A compacted log, so the joiner needs the snapshot, and frames too small for it whole.
        let environment = layout.environment.merging([
            "WEIR_RAFT_SNAPSHOT_ENTRIES": "100", "WEIR_RAFT_COMPACTION_MARGIN_ENTRIES": "0",
            "WEIR_RAFT_SNAPSHOT_CHUNK_BYTES": "16384", "WEIR_PEER_PAYLOAD_BYTES_MAX": "65536",
        ]) { $1 }
        let first = try WeirProcess(layout.arguments(1), environment: environment)
        defer { first.signal(SIGKILL) }
        _ = try await first.awaitLog("created the first super-admin token")
        let admin = AdminHTTPClient(token: try String(contentsOfFile: "\(layout.root)/1/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        try await writeUsers(admin, port: layout.http[0])
        let snapshot = await admin.call(.GET, port: layout.http[0], path: "/admin/api/cluster")
        print("join readiness: n1 status \(String(describing: snapshot?.body["members"]).prefix(400))")

        let balancer = try Balancer(root: layout.root, backends: layout.http)
        defer { balancer.stop() }
        try await waitUntilTrue("haproxy has n2 down (not started yet)", within: .seconds(10)) { await balancer.state("n2") == "DOWN" }

        let loop = ClientLoop(), lbPort = balancer.port
        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while !loop.stop.load(ordering: .relaxed) {
                            let id = Int.random(in: 0..<Self.users)
                            let answer = await admin.call(.GET, port: lbPort, path: "/admin/api/users/user:u\(id)", timeout: 10)
                            if answer?.status == 200 { loop.served.add(1, ordering: .relaxed) } else {
                                loop.failures.withLock { $0.append("\(answer?.status ?? 0) \(answer?.body ?? [:])") }
                            }
                        }
                    }
                }
            }
        }
        let joining = try WeirProcess(layout.arguments(2) + ["--join", "http://127.0.0.1:\(layout.http[0])"], environment: environment)
        defer { joining.signal(SIGKILL) }
        var seen = Set<String>()
        try await waitUntilTrue("n2 is ready", within: .seconds(60)) {
            guard let ready = await Self.readiness(port: layout.http[1]) else { return false }
            seen.formUnion(ready.waiting)
            return ready.status == 200
        }
        try await waitUntilTrue("haproxy sends clients to n2", within: .seconds(20)) { (await balancer.sessions("n2") ?? 0) >= 20 }
        loop.stop.store(true, ordering: .relaxed)
        await clients.value
        let failed = loop.failures.withLock { $0 }
        #expect(failed.isEmpty, "clients through the balancer were refused: \(failed.prefix(5))")
        #expect(loop.served.load(ordering: .relaxed) > 50)
        #expect(joining.log.contains("caught up with the leader"), "\(joining.log.suffix(3000))")
        #expect(first.log.contains("streaming a snapshot"), "the policy went as a stream of chunks")
        print("join readiness: n2 waited for \(seen.sorted()); \(loop.served.load(ordering: .relaxed)) answers through haproxy")
        let members = await admin.call(.GET, port: layout.http[1], path: "/admin/api/users?limit=1")
        #expect(members?.status == 200)
        joining.signal(SIGTERM)
        first.signal(SIGTERM)
        _ = try await joining.awaitExit()
        _ = try await first.awaitExit()
    }

    private final class ClientLoop: Sendable {
        let failures = Mutex([String]())
        let served = Atomic(0)
        let stop = Atomic(false)
    }

    private func writeUsers(_ admin: AdminHTTPClient, port: Int) async throws {
        let refused = ClientLoop()
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for n in stride(from: writer, to: Self.users, by: 8) {
                        let answer = await admin.call(.POST, port: port, path: "/admin/api/users", json: #"{"id":"user:u\#(n)","email":"u\#(n)@example.com","display_name":"User number \#(n) of the join test"}"#)
                        if answer?.status != 200 { refused.served.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
        #expect(refused.served.load(ordering: .relaxed) == 0, "every user written")
    }

    private static func readiness(port: Int) async -> (status: Int, waiting: [String])? {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health/ready"), timeout: .seconds(2)),
              let body = try? await response.body.collect(upTo: 1 << 16) else { return nil }
        let object = (try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8))) as? [String: Any]
        return (Int(response.status.code), object?["waiting_for"] as? [String] ?? [])
    }
}

/// haproxy in front of `backends` (n1, n2 …), checking /health/ready every 100 ms, with its
/// stats as CSV on a port of its own; stopped by `stop()`.
struct Balancer {
    let port: Int
    let statsPort: Int
    let process: Process

    init(root: String, backends: [Int]) throws {
        port = try freeLoopbackPort()
        statsPort = try freeLoopbackPort()
        let servers = backends.enumerated().map { "    server n\($0.offset + 1) 127.0.0.1:\($0.element) check" }.joined(separator: "\n")
        let config = """
            global
                maxconn 512
            defaults
                mode http
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend weir
                bind 127.0.0.1:\(port)
                default_backend nodes
            backend nodes
                balance roundrobin
                option httpchk GET /health/ready
                http-check expect status 200
                default-server inter 100ms fall 1 rise 1
            \(servers)
            listen stats
                bind 127.0.0.1:\(statsPort)
                stats enable
                stats uri /stats

            """
        let path = "\(root)/haproxy.cfg"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let haproxy = try #require(["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }, "haproxy is installed by make test")
        process = Process()
        process.executableURL = URL(fileURLWithPath: haproxy)
        process.arguments = ["-db", "-f", path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func stop() { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    /// A server's row of the stats CSV, by column name.
    private func row(_ server: String) async -> [String: String]? {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(statsPort)/stats;csv"), timeout: .seconds(2)),
              let body = try? await response.body.collect(upTo: 1 << 20) else { return nil }
        let lines = String(buffer: body).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first?.map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "# ")) }),
              let line = lines.first(where: { $0.count > 1 && $0[0] == "nodes" && $0[1] == server }) else { return nil }
        return Dictionary(zip(header, line), uniquingKeysWith: { first, _ in first })
    }

    /// `UP`, `DOWN` … as haproxy sees `server`.
    func state(_ server: String) async -> String? { await row(server)?["status"] }

    /// Sessions haproxy has sent to `server` so far.
    func sessions(_ server: String) async -> Int? { await row(server).flatMap { $0["stot"] }.flatMap { Int($0) } }
}
