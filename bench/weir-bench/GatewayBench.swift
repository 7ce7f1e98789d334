import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NodeTestSupport

/// The gateway's cost per request, measured as issue 20 asks: every party in a process of
/// its own. nginx (one worker) answers a fixed chat completion; haproxy passes the same
/// requests straight to it (the hop to beat); wrk (one thread) is the load. Weir runs as one
/// release node with token auth, a quota on each of the six lanes and pricing, then as a
/// second node that also records usage and has DLP on.
struct GatewayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Throughput and added latency of a weir node against haproxy passthrough to the same nginx upstream, loaded by wrk.")

    @Option(help: "Connections wrk keeps busy in the main run.") var concurrency = 32
    @Option(help: "Seconds measured per target at full concurrency (after a 2 s warm-up); c=1 runs half as long.") var seconds = 10
    @Option(help: "The weir binary (release).") var weir = ".build/release/weir"
    @Option(help: "Where to write the table (between its markers), or - for none.") var output = "docs/benchmarks.md"
    @Option(help: "Another weir binary (say, main's before a change) measured in the same run as a plain node, for a ratio of two commits.") var baselineWeir: String?

    /// About 1 KB of prompt with an email address and a phone number in it.
    static let prompt = String(repeating: "Summarise the quarterly report for the board, keeping figures exact. ", count: 13)
        + "Send questions to ann.lee@example.com or call +1 415 555 0100."
    static let body = #"{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"\#(prompt)"}]}"#

    /// One target's runs: at full concurrency and at one connection.
    struct Figures {
        var full = WrkResult()
        var single = WrkResult()
        var rssMB: Int?

        /// Two runs of the same target as one: requests and time summed, percentiles averaged.
        func averaged(with other: Figures) -> Figures {
            func merge(_ a: WrkResult, _ b: WrkResult) -> WrkResult {
                WrkResult(requests: a.requests + b.requests, seconds: a.seconds + b.seconds, failures: a.failures + b.failures,
                          p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2)
            }
            return Figures(full: merge(full, other.full), single: merge(single, other.single), rssMB: other.rssMB ?? rssMB)
        }
    }

    func run() async throws {
        for tool in [weir, "/usr/bin/wrk", "/usr/sbin/nginx", "/usr/sbin/haproxy"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ValidationError("\(tool) is missing: run scripts/install-deps.sh (wrk, nginx-light, haproxy) and build weir with swift build -c release --product weir")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/nginx-body", withIntermediateDirectories: true)
        let upstream = try HopProcesses.nginx(directory: directory)
        defer { kill(upstream.pid, SIGQUIT) }
        let proxy = try HopProcesses.haproxy(directory: directory, upstream: upstream.port)
        defer { kill(proxy.pid, SIGTERM) }
        let wrk = Wrk(directory: directory, body: Self.body)
        print("weir-bench gateway: wrk -t1 -c\(concurrency) and -c1, \(seconds) s per target, nginx answering a fixed completion")

        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        do {
            let direct = try measure(wrk, "http://127.0.0.1:\(upstream.port)/v1/chat/completions", token: "unused")
            let passthrough = try measure(wrk, "http://127.0.0.1:\(proxy.port)/v1/chat/completions", token: "unused")
            let plainNode = try await BenchNode.start(client, binary: weir, directory: directory + "/plain", upstream: upstream.port, recording: false, dlp: false)
            defer { kill(plainNode.pid, SIGTERM) }
            let observedNode = try await BenchNode.start(client, binary: weir, directory: directory + "/observed", upstream: upstream.port, recording: true, dlp: true)
            defer { kill(observedNode.pid, SIGTERM) }
            var plain = try measure(wrk, "http://127.0.0.1:\(plainNode.port)/v1/chat/completions", token: plainNode.secret)
            var baseline: Figures?
            if let baselineWeir {
                let baselineNode = try await BenchNode.start(client, binary: baselineWeir, directory: directory + "/baseline", upstream: upstream.port, recording: false, dlp: false)
                defer { kill(baselineNode.pid, SIGTERM) }
                // A B B A: neither binary gains from going first or last.
                baseline = try measure(wrk, "http://127.0.0.1:\(baselineNode.port)/v1/chat/completions", token: baselineNode.secret)
                    .averaged(with: try measure(wrk, "http://127.0.0.1:\(baselineNode.port)/v1/chat/completions", token: baselineNode.secret))
                baseline?.rssMB = Self.rssMB(baselineNode.pid)
                plain = plain.averaged(with: try measure(wrk, "http://127.0.0.1:\(plainNode.port)/v1/chat/completions", token: plainNode.secret))
            }
            var observed = try measure(wrk, "http://127.0.0.1:\(observedNode.port)/v1/chat/completions", token: observedNode.secret, single: false)
            plain.rssMB = Self.rssMB(plainNode.pid)
            observed.rssMB = Self.rssMB(observedNode.pid)
            try await client.shutdown()
            report(direct: direct, passthrough: passthrough, plain: plain, observed: observed, baseline: baseline)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A 2 s warm-up, then the full-concurrency run and (unless `single` is false) the
    /// one-connection run.
    private func measure(_ wrk: Wrk, _ url: String, token: String, single: Bool = true) throws -> Figures {
        _ = try wrk.run(url, token: token, connections: concurrency, seconds: 2)
        var figures = Figures()
        figures.full = try wrk.run(url, token: token, connections: concurrency, seconds: seconds)
        if single { figures.single = try wrk.run(url, token: token, connections: 1, seconds: max(1, seconds / 2)) }
        return figures
    }

    /// The resident set of `pid` in MB, from /proc.
    static func rssMB(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kB = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kB / 1024
    }

    private func report(direct: Figures, passthrough: Figures, plain: Figures, observed: Figures, baseline: Figures?) {
        func ms(_ us: Double) -> String { String(format: "%.3f ms", us / 1000) }
        func row(_ name: String, _ f: Figures, single: Bool = true) -> String {
            let one = single ? "\(ms(f.single.p50)) | \(ms(f.single.p99))" : "– | –"
            let rss = f.rssMB.map { "\($0) MB" } ?? "–"
            return "| \(name) | \(Int(f.full.rps)) | \(ms(f.full.p50)) | \(ms(f.full.p99)) | \(one) | \(f.full.failures + f.single.failures) | \(rss) |"
        }
        let ratio = plain.full.rps / max(passthrough.full.rps, 1)
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let table = """
            | target | c=\(concurrency) req/s | c=\(concurrency) p50 | c=\(concurrency) p99 | c=1 p50 | c=1 p99 | failed | RSS after |
            |---|---|---|---|---|---|---|---|
            \(row("nginx, direct", direct))
            \(row("haproxy → nginx (the hop to beat)", passthrough))
            \(row("weir → nginx", plain))
            \(row("weir, usage recorded, DLP on, cache off", observed, single: false))
            """ + (baseline.map { "\n" + row("weir → nginx, baseline binary (--baseline-weir)", $0) } ?? "")
        let line = String(format: "bench weir_rps=%.0f haproxy_rps=%.0f ratio=%.3f added_p50_c1_us=%.0f added_p99_c1_us=%.0f added_p50_c%d_us=%.0f added_p99_c%d_us=%.0f",
                          plain.full.rps, passthrough.full.rps, ratio, plain.single.p50 - direct.single.p50, plain.single.p99 - direct.single.p99,
                          concurrency, plain.full.p50 - direct.full.p50, concurrency, plain.full.p99 - direct.full.p99)
        let observedLine = String(format: "bench_observed weir_rps=%.0f plain_rps=%.0f ratio=%.2f", observed.full.rps, plain.full.rps, observed.full.rps / max(plain.full.rps, 1))
        let baselineLine = baseline.map {
            String(format: "bench_baseline weir_rps=%.0f baseline_rps=%.0f ratio=%.2f c1_p50_us=%.0f baseline_c1_p50_us=%.0f",
                   plain.full.rps, $0.full.rps, plain.full.rps / max($0.full.rps, 1), plain.single.p50, $0.single.p50)
        }
        print("")
        print(table)
        if let baselineLine { print(""); print(baselineLine) }
        print("")
        if output != "-" { write(table: table, line: line + "`\n\n`" + observedLine + (baselineLine.map { "`\n\n`" + $0 } ?? ""), date: String(date)) }
        print(observedLine)
        print(line)
    }

    /// Replaces the gateway section of `output` (between its markers), or appends it.
    private func write(table: String, line: String, date: String) {
        let start = "<!-- gateway-bench:start -->", end = "<!-- gateway-bench:end -->"
        let section = """
            \(start)
            ## Gateway overhead (`weir-bench gateway`, `make bench`)

            Every party in its own process, on the same two cores: nginx (one worker) answers a
            fixed chat completion; haproxy passes the same requests straight to it; wrk (one
            thread) posts a 1 KB chat request, \(seconds) s per target at \(concurrency) connections and
            \(max(1, seconds / 2)) s at one, each after a 2 s warm-up. Weir is one release node with token auth,
            a quota on each of the six lanes and pricing; the second node also records usage
            events and has DLP on (every built-in detector), with the response cache off.
            "Added" latencies are against nginx direct (measured \(date)):

            \(table)

            `\(line)`
            \(end)
            """
        MarkedSection.write(section, start: start, end: end, to: output)
    }
}
