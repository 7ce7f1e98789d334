import ArgumentParser
import AsyncHTTPClient
import Foundation
import MockLLM
import NIOCore
import NIOHTTP1
import NodeTestSupport

/// The gateway's cost per request: one release `weir` node (token auth, six applicable
/// quotas, pricing) in front of mockllm, against haproxy passing the same requests
/// straight to mockllm, in the same run and at the same concurrency.
struct GatewayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Throughput and added latency of a weir node against haproxy passthrough to the same mockllm.")

    @Option(help: "Requests in flight at once.") var concurrency = 32
    @Option(help: "Seconds measured per target (after a 2 s warm-up).") var seconds = 10
    @Option(help: "The weir binary (release).") var weir = ".build/release/weir"
    @Option(help: "Where to write the table (between its markers), or - for none.") var output = "docs/benchmarks.md"

    /// About 1 KB of prompt with an email address and a phone number in it.
    static let prompt = String(repeating: "Summarise the quarterly report for the board, keeping figures exact. ", count: 13)
        + "Send questions to ann.lee@example.com or call +1 415 555 0100."

    struct Measurement {
        var requests = 0
        var failures = 0
        var seconds = 0.0
        var latencies: [Double] = []  // µs, sorted

        mutating func add(_ other: Measurement) {
            requests += other.requests
            failures += other.failures
            seconds += other.seconds
            latencies = (latencies + other.latencies).sorted()
        }

        var rps: Double { Double(requests) / seconds }
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
    }

    func run() async throws {
        guard FileManager.default.isExecutableFile(atPath: weir) else { throw ValidationError("\(weir) is missing: build it with swift build -c release --product weir") }
        let mock = MockLLM(options: MockOptions())
        try await mock.serving { mockPort in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let proxyPort = try freeLoopbackPort()
            let config = directory + "/haproxy.cfg"
            try """
                global
                    maxconn 4096
                defaults
                    mode http
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                frontend passthrough
                    bind 127.0.0.1:\(proxyPort)
                    default_backend mock
                backend mock
                    server mock 127.0.0.1:\(mockPort)

                """.write(toFile: config, atomically: true, encoding: .utf8)
            let proxy = try spawnLogged(["/usr/sbin/haproxy", "-f", config, "-db"], output: directory + "/haproxy.log")
            defer { kill(proxy, SIGTERM) }

            let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
            do {
                print("weir-bench gateway: \(concurrency) in flight, \(seconds) s per target, mockllm answering at once")
                let passthrough = try await load(client, url: "http://127.0.0.1:\(proxyPort)/v1/chat/completions", token: "unused")
                guard passthrough.requests > 0 else {
                    throw ValidationError("haproxy answered nothing; its log:\n" + ((try? String(contentsOfFile: directory + "/haproxy.log", encoding: .utf8)) ?? ""))
                }
                // The plain node: auth, six quotas, pricing; no usage recording, no DLP. Issue 7's
                // node: usage recorded, DLP on for the caller, the cache off. Both run at once and
                // are measured in turn, A B B A, so neither gains from going first or last.
                let plainNode = try await node(client, directory: directory + "/plain", mockPort: mockPort, recording: false, dlp: false)
                defer { kill(plainNode.pid, SIGTERM) }
                let observedNode = try await node(client, directory: directory + "/observed", mockPort: mockPort, recording: true, dlp: true)
                defer { kill(observedNode.pid, SIGTERM) }
                var plain = Measurement(), observed = Measurement()
                for (index, target) in [plainNode, observedNode, observedNode, plainNode].enumerated() {
                    let measured = try await load(client, url: "http://127.0.0.1:\(target.port)/v1/chat/completions", token: target.secret, seconds: Double(seconds) / 2)
                    if index == 0 || index == 3 { plain.add(measured) } else { observed.add(measured) }
                }
                report(gateway: plain, passthrough: passthrough, observed: observed)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    /// Starts a node and prepares its caller; the caller stops it.
    private func node(_ client: HTTPClient, directory: String, mockPort: Int, recording: Bool, dlp: Bool) async throws -> (pid: pid_t, port: Int, secret: String) {
        let port = try freeLoopbackPort()
        let pid = try spawnLogged([weir, "serve", "--data-dir", directory, "--http-port", "\(port)", "--peer-listen", "tcp://127.0.0.1:0", "--log-level", "warning",
                                   "--set", "providers.demo_upstream=http://127.0.0.1:\(mockPort)/v1", "--set", "usage.recording=\(recording)"],
                            output: directory + ".log")
        do {
            return (pid, port, try await prepare(client, port: port, directory: directory, dlp: dlp))
        } catch {
            kill(pid, SIGTERM)
            throw error
        }
    }

    /// A caller bound to a user (in an org), an app and a principal, with a quota on each of
    /// the six lanes (never reached) and the demo prices; returns its token.
    private func prepare(_ client: HTTPClient, port: Int, directory: String, dlp: Bool) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var token: String?
        while token == nil {
            guard ContinuousClock.now < deadline else { throw ValidationError("weir did not start; see its log in \(directory)/..") }
            token = (try? String(contentsOfFile: directory + "/admin.token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let admin = token!
        // The demo provider is registered right after the token.
        while (try await call(client, port: port, "GET", "/admin/api/deployments", admin, nil)["items"] as? [Any])?.count != 5 {
            guard ContinuousClock.now < deadline else { throw ValidationError("the demo provider was not registered") }
            try await Task.sleep(for: .milliseconds(100))
        }
        if dlp {
            _ = try await call(client, port: port, "POST", "/admin/api/dlp", admin,
                               #"{"id":"dlp:bench","enabled":true,"action":"redact","detectors":["email","phone","credit_card","ssn","ip_address","iban","api_key"]}"#)
            _ = try await call(client, port: port, "POST", "/admin/api/settings", admin, #"{"cache_ttl_seconds":0}"#)
        }
        for (path, body) in [
            ("orgs", dlp ? #"{"id":"org:bench","name":"Bench","slug":"bench","dlp":"dlp:bench"}"# : #"{"id":"org:bench","name":"Bench","slug":"bench"}"#), ("users", #"{"id":"user:bench","organization":"org:bench"}"#),
            ("apps", #"{"id":"app:bench"}"#), ("principals", #"{"id":"agent:bench","app":"app:bench"}"#),
        ] { _ = try await call(client, port: port, "POST", "/admin/api/" + path, admin, body) }
        let issued = try await call(client, port: port, "POST", "/admin/api/tokens", admin, #"{"principal":"agent:bench","user":"user:bench","app":"app:bench"}"#)
        guard let secret = issued["secret"] as? String, let id = (issued["token"] as? [String: Any])?["id"] as? String else {
            throw ValidationError("could not issue the bench token: \(issued)")
        }
        for (lane, subject) in [("token", id), ("principal", "agent:bench"), ("user", "user:bench"), ("app", "app:bench"), ("org", "org:bench"), ("key", "key:demo:mockllm")] {
            _ = try await call(client, port: port, "POST", "/admin/api/quotas", admin,
                               #"{"lane":"\#(lane)","subject":"\#(subject)","name":"bench","period":"day","max_requests":1000000000,"max_usd":1000000}"#)
        }
        return secret
    }

    private func call(_ client: HTTPClient, port: Int, _ method: String, _ path: String, _ token: String, _ body: String?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// `seconds` of load after a 2 s warm-up (default: the `--seconds` option).
    private func load(_ client: HTTPClient, url: String, token: String, seconds: Double? = nil) async throws -> Measurement {
        let body = ByteBuffer(string: #"{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"\#(Self.prompt)"}]}"#)
        func run(for duration: Duration) async -> Measurement {
            let clock = ContinuousClock()
            let end = clock.now.advanced(by: duration)
            let start = clock.now
            let results = await withTaskGroup(of: ([Double], Int).self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var latencies: [Double] = [], failures = 0
                        while clock.now < end {
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "Authorization", value: "Bearer \(token)")
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(body)
                            let sent = clock.now
                            do {
                                let response = try await client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 1 << 20)
                                if response.status == .ok {
                                    let elapsed = sent.duration(to: clock.now)
                                    latencies.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
                                } else { failures += 1 }
                            } catch { failures += 1 }
                        }
                        return (latencies, failures)
                    }
                }
                return await group.reduce(into: ([Double](), 0)) { $0.0 += $1.0; $0.1 += $1.1 }
            }
            let elapsed = start.duration(to: clock.now)
            return Measurement(requests: results.0.count, failures: results.1,
                               seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, latencies: results.0.sorted())
        }
        _ = await run(for: .seconds(2))
        return await run(for: .seconds(seconds ?? Double(self.seconds)))
    }

    private func report(gateway: Measurement, passthrough: Measurement, observed: Measurement) {
        let ratio = gateway.rps / max(passthrough.rps, 1)
        let addedP50 = gateway.percentile(0.5) - passthrough.percentile(0.5)
        let addedP99 = gateway.percentile(0.99) - passthrough.percentile(0.99)
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let table = """
            | target | requests/s | p50 | p99 | failed |
            |---|---|---|---|---|
            | haproxy → mockllm (baseline) | \(Int(passthrough.rps)) | \(Int(passthrough.percentile(0.5))) µs | \(Int(passthrough.percentile(0.99))) µs | \(passthrough.failures) |
            | weir → mockllm | \(Int(gateway.rps)) | \(Int(gateway.percentile(0.5))) µs | \(Int(gateway.percentile(0.99))) µs | \(gateway.failures) |
            | weir, usage recorded, DLP on, cache off | \(Int(observed.rps)) | \(Int(observed.percentile(0.5))) µs | \(Int(observed.percentile(0.99))) µs | \(observed.failures) |
            """
        let line = String(format: "bench weir_rps=%.0f passthrough_rps=%.0f ratio=%.2f added_p50_us=%.0f added_p99_us=%.0f",
                          gateway.rps, passthrough.rps, ratio, addedP50, addedP99)
        let observedLine = String(format: "bench_observed weir_rps=%.0f plain_rps=%.0f ratio=%.2f", observed.rps, gateway.rps, observed.rps / max(gateway.rps, 1))
        print("")
        print(table)
        print("")
        if output != "-" { write(table: table, line: line + "`\n\n`" + observedLine, date: String(date)) }
        print(observedLine)
        print(line)
    }

    /// Replaces the gateway section of `output` (between its markers), or appends it.
    private func write(table: String, line: String, date: String) {
        let start = "<!-- gateway-bench:start -->", end = "<!-- gateway-bench:end -->"
        let section = """
            \(start)
            ## Gateway overhead (`weir-bench gateway`, `make bench`)

            One release node with token auth, a quota on each of the six lanes and pricing, in
            front of mockllm (answering at once), against haproxy passing the same chat requests
            straight to mockllm; then a second node that also records usage events and has DLP
            on (every built-in detector) for the caller, with the response cache off, both running
            and measured in turn (A B B A, \(seconds / 2) s each after a 2 s warm-up); \(concurrency) requests in flight,
            passthrough \(seconds) s after a 2 s warm-up; load generator, mockllm, haproxy and the node on the same two cores
            (measured \(date)):

            \(table)

            `\(line)`
            \(end)
            """
        MarkedSection.write(section, start: start, end: end, to: output)
    }
}
