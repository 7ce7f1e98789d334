import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NodeTestSupport

/// The cluster part of `weir-bench policy`: three release nodes behind haproxy
/// (`deploy/local-cluster.sh` on free ports in a temporary directory), `users` users
/// written through haproxy by 16 writers, then a fourth node started with `--join`: the
/// time until its `/health/ready` is 200, then query and console-page latency through it,
/// and every node's RSS.
struct PolicyClusterBench {
    let weir: String
    let users: Int
    let repeats: Int
    static let writers = 16

    struct Result {
        var users: Int
        var writesPerSecond: Double
        var failedWrites: Int
        /// Failed writes by status (0: no answer within 30 s or a transport error).
        var failures: [Int: Int]
        var joinReadySeconds: Double
        var rssMB: [String: Int]
        var queries: [QueryTimings]
    }

    func run() async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: weir) else { throw ValidationError("\(weir) is missing: build it with swift build -c release --product weir") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bench-policy-\(UUID().uuidString)").path
        let http = try (0..<4).map { _ in try freeLoopbackPort() }, peer = try (0..<4).map { _ in try freeLoopbackPort() }
        let environment = ProcessInfo.processInfo.environment.merging([
            "CLUSTER_DIR": dir, "WEIR_BINARY": weir, "CLUSTER_LB_PORT": String(try freeLoopbackPort()),
            "CLUSTER_HTTP_PORTS": http.prefix(3).map(String.init).joined(separator: " "),
            "CLUSTER_PEER_PORTS": peer.prefix(3).map(String.init).joined(separator: " "),
        ]) { $1 }
        try Self.script("start", environment)
        // No redirects followed: the console's sign-in answers 303 with the session cookie.
        let client = HTTPClient(configuration: .init(
            redirectConfiguration: .disallow,
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: Self.writers)))
        var joiner: pid_t?
        do {
            let admin = try String(contentsOfFile: dir + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let lb = Int(environment["CLUSTER_LB_PORT"] ?? "") ?? 0
            let (rate, failures) = try await write(client, port: lb, admin: admin)
            let failed = failures.values.reduce(0, +)
            say(String(format: "cluster: %d users written through haproxy at %.0f writes/s (%d failed: %@)", users, rate, failed, "\(failures.sorted { $0.key < $1.key })"))
            let start = ContinuousClock.now
            joiner = try spawnLogged(
                [weir, "serve", "--node-id", "n4", "--data-dir", dir + "/n4", "--http-port", "\(http[3])", "--peer-listen", "tcp://127.0.0.1:\(peer[3])",
                 "--set", "cluster.id=local", "--set", "cluster.secret_file=\(dir)/cluster.secret", "--set", "cluster.kek_file=\(dir)/kek.key",
                 "--join", "http://127.0.0.1:\(http[0])"],
                output: dir + "/n4.log")
            try await waitReady(client, port: http[3], within: .seconds(600))
            let joined = start.duration(to: .now).seconds
            say(String(format: "cluster: n4 joined and was ready after %.1f s", joined))
            let queries = try await queryTimings(client, port: http[3], admin: admin)
            var rss: [String: Int] = [:]
            for n in 1...3 {
                if let pid = (try? String(contentsOfFile: "\(dir)/n\(n).pid", encoding: .utf8)).flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    rss["n\(n)"] = ProcessMemory.residentMB(pid: pid)
                }
            }
            if let joiner { rss["n4"] = ProcessMemory.residentMB(pid: joiner) }
            try? await client.shutdown()
            if let joiner { kill(joiner, SIGTERM) }
            try? Self.script("stop", environment)
            try? FileManager.default.removeItem(atPath: dir)
            return Result(users: users, writesPerSecond: rate, failedWrites: failed, failures: failures, joinReadySeconds: joined, rssMB: rss, queries: queries)
        } catch {
            try? await client.shutdown()
            if let joiner { kill(joiner, SIGKILL) }
            try? Self.script("stop", environment)
            say("cluster part failed; its logs are in \(dir)")
            throw error
        }
    }

    /// Runs `deploy/local-cluster.sh verb` to its end (posix_spawn and waitpid: Foundation's
    /// `Process` misses the exit of a script whose children live on).
    private static func script(_ verb: String, _ environment: [String: String]) throws {
        let dir = environment["CLUSTER_DIR"] ?? "."
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pid = try spawnLogged(["/bin/bash", "deploy/local-cluster.sh", verb], environment: environment, output: "\(dir)/cluster-\(verb).log")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            let log = (try? String(contentsOfFile: "\(dir)/cluster-\(verb).log", encoding: .utf8)) ?? ""
            throw ValidationError("deploy/local-cluster.sh \(verb) failed (status \(status)):\n\(log.suffix(2000))")
        }
    }

    /// `users` users through haproxy, 16 at a time; returns writes/s and the failures by
    /// status (0: no answer or a transport error), each with its first message kept in
    /// the log.
    private func write(_ client: HTTPClient, port: Int, admin: String) async throws -> (Double, [Int: Int]) {
        let clock = ContinuousClock()
        let start = clock.now
        let total = users
        let failures = await withTaskGroup(of: [Int: Int].self) { group in
            for worker in 0..<Self.writers {
                group.addTask {
                    var failures: [Int: Int] = [:]
                    for n in stride(from: worker, to: total, by: Self.writers) {
                        let surname = PolicyScale.surnames[n % PolicyScale.surnames.count]
                        let body = #"{"id":"user:u\#(n)","display_name":"Person \#(n) \#(surname)","email":"u\#(n)@example.com"}"#
                        let answer = try? await Self.call(client, port: port, "POST", "/admin/api/users", admin, body)
                        guard let answer, (200..<300).contains(answer.status) else {
                            let status = answer?.status ?? 0
                            if failures[status] == nil { say("cluster: a write answered \(status): \(answer?.text.prefix(300) ?? "no answer")") }
                            failures[status, default: 0] += 1
                            continue
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(into: [Int: Int]()) { all, some in all.merge(some, uniquingKeysWith: +) }
        }
        return (Double(total) / start.duration(to: clock.now).seconds, failures)
    }

    private func waitReady(_ client: HTTPClient, port: Int, within limit: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if (try? await Self.call(client, port: port, "GET", "/health/ready", nil, nil).status) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the joining node was not ready within \(limit)")
    }

    /// Admin queries and a console page through the joined node, JSON or HTML included.
    private func queryTimings(_ client: HTTPClient, port: Int, admin: String) async throws -> [QueryTimings] {
        let cookie = try await signIn(client, port: port, admin: admin)
        let surname = PolicyScale.surnames[7].lowercased()
        let cases: [(String, String, String?)] = [
            ("API users, first page", "/admin/api/users?limit=50", nil),
            ("API users, q = one user's id", "/admin/api/users?limit=50&q=u\(users * 7 / 11)%40", nil),
            ("API users, q = a surname", "/admin/api/users?limit=50&q=\(surname)", nil),
            ("API users, q matching nobody", "/admin/api/users?limit=50&q=nobody-zq", nil),
            ("console Users page", "/admin/users", cookie),
            ("console Users page, searched", "/admin/users?q=\(surname)", cookie),
        ]
        var rows: [QueryTimings] = []
        for (name, path, cookie) in cases {
            var times: [Double] = []
            var status = 0
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                status = try await Self.call(client, port: port, "GET", path, cookie == nil ? admin : nil, nil, cookie: cookie).status
                times.append(start.duration(to: .now).seconds * 1000)
            }
            guard status == 200 else { throw ValidationError("GET \(path) answered \(status)") }
            times.sort()
            rows.append(QueryTimings(name: name, p50: times[times.count / 2], p99: times[min(times.count - 1, times.count * 99 / 100)], items: 0))
        }
        return rows
    }

    private func signIn(_ client: HTTPClient, port: Int, admin: String) async throws -> String {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/admin/signin")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "token=" + (admin.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? admin)))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard let cookie = response.headers["Set-Cookie"].first?.split(separator: ";").first else {
            throw ValidationError("console sign-in answered \(response.status.code) without a session cookie")
        }
        return String(cookie)
    }

    private static func call(
        _ client: HTTPClient, port: Int, _ method: String, _ path: String, _ token: String?, _ body: String?, cookie: String? = nil
    ) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
