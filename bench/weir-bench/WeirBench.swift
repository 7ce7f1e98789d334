import ArgumentParser
import Foundation
import Node
import NodeTestSupport

/// `weir-bench`: measurements, reported as ratios against a baseline from the same run.
@main
struct WeirBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir-bench",
        abstract: "Benchmarks of Weir's parts; every figure comes with a baseline from the same run.",
        subcommands: [RaftBench.self, QuotaBench.self, GossipBench.self, GatewayBench.self, CPUCostBench.self, StreamsBench.self, SoakBench.self, ObserveBench.self, PolicyBench.self])
}

struct RaftBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Commit latency and throughput of the Raft driver over RocksDB and nng on loopback.")

    @Option(help: "Sequential proposals measured for latency.") var proposals = 2_000
    @Option(help: "Proposals in flight at once for the throughput run.") var concurrency = 64
    @Option(help: "Proposals in the throughput run.") var throughputProposals = 20_000
    @Option(help: "Payload bytes per proposal.") var payloadBytes = 128

    func run() async throws {
        print("weir-bench raft: \(proposals) sequential proposals, \(throughputProposals) at concurrency \(concurrency), \(payloadBytes)-byte payloads")
        let single = try await measure(size: 1)
        let three = try await measure(size: 3)
        print("")
        print("| cluster | commit p50 | commit p99 | proposals/s (concurrency \(concurrency)) |")
        print("|---|---|---|---|")
        for (name, result) in [("1 node (baseline)", single), ("3 nodes", three)] {
            print("| \(name) | \(format(result.p50)) | \(format(result.p99)) | \(Int(result.throughput)) |")
        }
        print("")
        print(String(format: "ratios, 3 nodes / 1 node: p50 %.2f×, p99 %.2f×, throughput %.2f×",
                     ratio(three.p50, single.p50), ratio(three.p99, single.p99), three.throughput / single.throughput))
    }

    struct Result {
        var p50: Duration
        var p99: Duration
        var throughput: Double
    }

    private func measure(size: UInt64) async throws -> Result {
        let cluster = try InProcessCluster(size: size)
        let leader = try await cluster.leader()
        let driver = cluster.members[leader]!.driver
        let payload = [UInt8](repeating: 0x5A, count: payloadBytes)
        let clock = ContinuousClock()
        for _ in 0..<100 { _ = try await driver.propose(payload) }  // warm up
        var latencies: [Duration] = []
        latencies.reserveCapacity(proposals)
        for _ in 0..<proposals {
            let start = clock.now
            _ = try await driver.propose(payload)
            latencies.append(clock.now - start)
        }
        latencies.sort()
        let start = clock.now
        let total = throughputProposals
        let workers = concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var n = worker
                    while n < total {
                        _ = try await driver.propose(payload)
                        n += workers
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        await cluster.shutdown()
        return Result(
            p50: latencies[latencies.count / 2], p99: latencies[latencies.count * 99 / 100],
            throughput: Double(total) / seconds(elapsed))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func ratio(_ a: Duration, _ b: Duration) -> Double { seconds(a) / seconds(b) }

    private func format(_ duration: Duration) -> String { String(format: "%.2f ms", seconds(duration) * 1000) }
}
