import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NodeTestSupport

/// A node's memory over a long run (issue 20): wrk keeps 32 connections busy against one
/// weir node (token auth, six quotas, pricing, nginx upstream) in one-minute rounds until
/// `requests` have been served, and the node's RSS is read after every round. The figure
/// that matters is the drift from the first million requests to the last.
struct SoakBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "RSS of a weir node sampled every minute while wrk sends it millions of requests.")

    @Option(help: "Requests to serve in all.") var requests = 5_000_000
    @Option(help: "Connections wrk keeps busy.") var concurrency = 32
    @Option(help: "Seconds per round (one RSS sample each).") var round = 60
    @Option(help: "The weir binary (release).") var weir = ".build/release/weir"
    @Option(help: "Where to write the table (between its markers), or - for none.") var output = "docs/benchmarks.md"

    func validate() throws {
        guard (10_000...1_000_000_000).contains(requests) else { throw ValidationError("--requests must be between 10000 and 1000000000") }
        guard (5...3_600).contains(round) else { throw ValidationError("--round must be between 5 and 3600 seconds") }
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 10000") }
    }

    struct Sample {
        let minute: Int
        let served: Int
        let rps: Double
        let rssMB: Int
    }

    func run() async throws {
        for tool in [weir, "/usr/bin/wrk", "/usr/sbin/nginx"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ValidationError("\(tool) is missing: run scripts/install-deps.sh (wrk, nginx-light) and swift build -c release --product weir")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-soak-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/nginx-body", withIntermediateDirectories: true)
        let upstream = try HopProcesses.nginx(directory: directory)
        defer { kill(upstream.pid, SIGQUIT) }
        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        let node: (pid: pid_t, port: Int, secret: String)
        do {
            node = try await BenchNode.start(client, binary: weir, directory: directory + "/node", upstream: upstream.port, recording: false, dlp: false)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
        defer { kill(node.pid, SIGTERM) }
        let wrk = Wrk(directory: directory, body: GatewayBench.body)
        print("weir-bench soak: \(requests) requests at c=\(concurrency), RSS after every \(round) s")
        var samples: [Sample] = [], served = 0, failures = 0
        while served < requests {
            let result = try wrk.run("http://127.0.0.1:\(node.port)/v1/chat/completions", token: node.secret, connections: concurrency, seconds: round)
            served += result.requests
            failures += result.failures
            let sample = Sample(minute: samples.count + 1, served: served, rps: result.rps, rssMB: GatewayBench.rssMB(node.pid) ?? 0)
            samples.append(sample)
            print("  round \(sample.minute): \(served) served, \(Int(sample.rps)) req/s, RSS \(sample.rssMB) MB")
            guard result.requests > 0 else { throw ValidationError("a round served nothing; see the node's log in \(directory)") }
        }
        report(samples, failures: failures)
    }

    /// The RSS once the first million was served, and at the end.
    static func drift(_ samples: [Sample]) -> (first: Int, last: Int, percent: Double)? {
        guard let first = samples.first(where: { $0.served >= 1_000_000 }) ?? samples.first, let last = samples.last else { return nil }
        return (first.rssMB, last.rssMB, Double(last.rssMB - first.rssMB) * 100 / Double(max(first.rssMB, 1)))
    }

    private func report(_ samples: [Sample], failures: Int) {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        let rows = samples.map { "| \($0.minute) | \($0.served) | \(Int($0.rps)) | \($0.rssMB) MB |" }
        let drift = Self.drift(samples)
        let line = String(format: "bench_soak requests=%d failures=%d rss_at_1m_mb=%d rss_end_mb=%d drift_percent=%.1f",
                          samples.last?.served ?? 0, failures, drift?.first ?? 0, drift?.last ?? 0, drift?.percent ?? 0)
        print(line)
        guard output != "-" else { return }
        let start = "<!-- soak-bench:start -->", end = "<!-- soak-bench:end -->"
        let section = """
            \(start)
            ## RSS over a long run (`weir-bench soak`)

            The plain node of the gateway table (token auth, a quota on each of the six lanes,
            pricing, nginx upstream) under wrk at \(concurrency) connections in \(round) s rounds, its RSS
            read after every round (measured \(date); not part of `make bench`: 5 million
            requests take about 17 minutes at 5,000 a second; `.build/release/weir-bench soak`):

            | round | served | req/s | RSS |
            |---|---|---|---|
            \(rows.joined(separator: "\n"))

            `\(line)`
            \(end)
            """
        MarkedSection.write(section, start: start, end: end, to: output)
    }
}
