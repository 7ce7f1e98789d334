import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NodeTestSupport

/// Many long streams at once (issue 20): nginx (one worker, its own process) answers every
/// request with a 50-chunk event stream let out by `limit_rate` over about 5 s; wrk holds
/// `concurrency` connections, each posting a streamed chat request as soon as its last one
/// ended. Measured straight at nginx and through one weir node (token auth, six quotas,
/// pricing), with the node's limits raised above the concurrency: completed streams per
/// second, p50 and p99 of a whole stream, failures (socket errors, timeouts past 10 s,
/// statuses other than 2xx), and the node's peak RSS. (mockllm, the first upstream tried,
/// writes only about 5,000 chunks a second on two shared cores: it was the bottleneck.)
struct StreamsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Completion rate and latency of many concurrent 5 s streams, straight to nginx and through a weir node.")

    @Option(help: "Comma-separated concurrencies (connections wrk holds).") var concurrency = "1000,10000"
    @Option(help: "Seconds measured per run (after a warm-up of one stream's length).") var seconds = 20
    @Option(help: "The weir binary (release).") var weir = ".build/release/weir"
    @Option(help: "Where to write the table (between its markers), or - for none.") var output = "docs/benchmarks.md"

    static let body = #"{"model":"gpt-4o-mini","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"Tell me a long story."}]}"#
    /// Descriptors needed: a client and an upstream connection per stream, and headroom.
    static let descriptorsPerStream = 3

    var levels: [Int] { concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !levels.isEmpty, levels.allSatisfy({ (1...50_000).contains($0) }) else { throw ValidationError("--concurrency must list numbers from 1 to 50000") }
        guard (6...600).contains(seconds) else { throw ValidationError("--seconds must be between 6 and 600") }
    }

    func run() async throws {
        for tool in [weir, "/usr/bin/wrk", "/usr/sbin/nginx"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ValidationError("\(tool) is missing: run scripts/install-deps.sh (wrk, nginx-light) and swift build -c release --product weir")
        }
        try Self.raiseDescriptorLimit(to: (levels.max() ?? 0) * Self.descriptorsPerStream + 4_096)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-streams-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/nginx-body", withIntermediateDirectories: true)
        let upstream = try HopProcesses.nginx(directory: directory, streamSeconds: 5)
        defer { kill(upstream.pid, SIGQUIT) }
        let wrk = Wrk(directory: directory, body: Self.body)
        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        // Twice the largest concurrency: the warm-up's connections may still be closing when
        // the measured run opens as many again.
        let limit = String((levels.max() ?? 0) * 2)
        let extra = ["--set", "http.connections_max=\(limit)", "--set", "http.in_flight_max=\(limit)",
                     "--set", "upstream.connections_per_host=\(min(65_536, Int(limit) ?? 0))", "--set", "upstream.queued_per_host=\(limit)"]
        var rows: [String] = []
        do {
            let node = try await BenchNode.start(client, binary: weir, directory: directory + "/node", upstream: upstream.port, recording: false, dlp: false, extra: extra)
            defer { kill(node.pid, SIGTERM) }
            try await client.shutdown()
            print("weir-bench streams: wrk -t1, 50 chunks over about 5 s per stream, \(seconds) s per run")
            for level in levels {
                let direct = try measure(wrk, "http://127.0.0.1:\(upstream.port)/v1/chat/completions", token: "unused", level)
                let through = try measure(wrk, "http://127.0.0.1:\(node.port)/v1/chat/completions", token: node.secret, level)
                let peak = Self.peakRSSMB(node.pid).map { "\($0) MB" } ?? "–"
                rows.append(row("nginx, direct", level, direct, rss: "–"))
                rows.append(row("weir → nginx", level, through, rss: peak))
                print(rows.suffix(2).joined(separator: "\n"))
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        report(rows)
    }

    /// A warm-up of one stream's length, then the measured run.
    private func measure(_ wrk: Wrk, _ url: String, token: String, _ connections: Int) throws -> WrkResult {
        _ = try wrk.run(url, token: token, connections: connections, seconds: 6)
        return try wrk.run(url, token: token, connections: connections, seconds: seconds)
    }

    private func row(_ name: String, _ connections: Int, _ r: WrkResult, rss: String) -> String {
        let steady = r.mean > 0 ? Double(connections) / (r.mean / 1e6) : 0
        return "| \(name) | \(connections) | " + String(format: "%.0f | %.0f | %.2f s | %.2f s", r.rps, steady, r.p50 / 1e6, r.p99 / 1e6)
            + " | \(r.failures) (\(r.kindsText)) | \(rss) |"
    }

    /// The high-water mark of `pid`'s resident set in MB (VmHWM), from /proc.
    static func peakRSSMB(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kB = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kB / 1024
    }

    /// Raises this process's open-file limit (the children inherit it) to `wanted`, within the hard limit.
    static func raiseDescriptorLimit(to wanted: Int) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw ValidationError("could not read the open-file limit") }
        let target = min(rlim_t(wanted), limit.rlim_max)
        guard limit.rlim_cur < target else { return }
        limit.rlim_cur = target
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw ValidationError("could not raise the open-file limit to \(target)") }
        if target < rlim_t(wanted) { print("weir-bench streams: the open-file limit is \(target), below the \(wanted) wanted; the largest runs may fail to connect") }
    }

    private func report(_ rows: [String]) {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let table = """
            | target | streams at once | completed/s | at once ÷ mean time | p50 | p99 | failed (kinds) | peak RSS |
            |---|---|---|---|---|---|---|---|
            \(rows.joined(separator: "\n"))
            """
        print("")
        print(table)
        guard output != "-" else { return }
        let start = "<!-- streams-bench:start -->", end = "<!-- streams-bench:end -->"
        let section = """
            \(start)
            ## Concurrent streams (`weir-bench streams`, `make bench`)

            nginx (one worker, its own process) answers every request with a 50-chunk event
            stream (and its usage chunk) let out by `limit_rate` over about 5 s, in
            bursts as nginx paces them; wrk (one thread) holds that many connections, each posting the next
            streamed request when its stream ends, \(seconds) s per run after a 6 s warm-up.
            The weir node has token auth, a quota on each of the six lanes and pricing, with
            `http.connections_max`, `http.in_flight_max`, `upstream.connections_per_host` and
            `upstream.queued_per_host` raised to twice the concurrency. A perfect relay
            sustains concurrency ÷ 5 streams per second at a p50 of 5 s: "at once ÷ mean time"
            is that rate from the measured mean, while "completed/s" counts the streams that
            ended inside the run, which opens every connection at once, so streams end in
            batches about 5 s apart and a short run cuts the last one off. wrk starts a
            stream's clock when the request is written (connecting is not in it) and leaves
            streams over its 10 s timeout out of the percentiles; "failed" adds its connect,
            read and write errors, one timeout per connection every 2 s while its request is
            older than 10 s, and statuses of 400 and above. nginx listens with a backlog of
            4,096, the node with Hummingbird's default of 256 (measured \(date)):

            \(table)
            \(end)
            """
        MarkedSection.write(section, start: start, end: end, to: output)
    }
}
