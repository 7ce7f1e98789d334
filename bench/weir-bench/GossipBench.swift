import ArgumentParser
import Foundation
import Node
import NodeTestSupport
import QuotaCRDT

/// How soon usage admitted on one node shows on the others: three quota services over
/// nng on loopback, one request settled on node 1 at a time, timed until nodes 2 and 3
/// both count it. Reported against the gossip interval, its expected mean being half an
/// interval plus the transit.
struct GossipBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip",
        abstract: "Time until usage settled on one node is seen by the two others, against the gossip interval.")

    @Option(help: "Settlements measured.") var samples = 200
    @Option(help: "Gossip interval in milliseconds.") var intervalMilliseconds = 50

    func run() async throws {
        print("weir-bench gossip: \(samples) settlements on node 1 of 3, gossip every \(intervalMilliseconds) ms")
        var configuration = QuotaConfiguration()
        configuration.gossipIntervalMilliseconds = intervalMilliseconds
        let cluster = try await QuotaTestCluster(size: 3, configuration: configuration)
        let now = cluster.now
        let nodes = cluster.ids.map { cluster.members[$0]! }
        let quota = QuotaSpec(
            id: QuotaID(lane: .app, subject: "app:bench", name: "visibility"), period: .hour, caps: Caps(requests: 1 << 40))
        let key = WindowKey(quota: quota.id, period: .hour, start: Period.hour.window(containing: now).start)
        let clock = ContinuousClock()
        var delays: [Duration] = []
        for n in 1...samples {
            guard case let .success(reservation) = await nodes[0].service.reserve(Usage(requests: 1), against: [quota]) else {
                fatalError("the benchmark's cap is never reached")
            }
            let start = clock.now
            nodes[0].service.settle(reservation, actual: Usage(requests: 1))
            while nodes[1].service.usage(in: key).requests < n || nodes[2].service.usage(in: key).requests < n {
                try await Task.sleep(for: .microseconds(200))
            }
            delays.append(start.duration(to: clock.now))
            // Start the next one at a random point of the gossip cycle.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<intervalMilliseconds)))
        }
        await cluster.shutdown()
        delays.sort()
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        }
        let p50 = milliseconds(delays[delays.count / 2])
        let p99 = milliseconds(delays[delays.count * 99 / 100])
        let interval = Double(intervalMilliseconds)
        print("")
        print("| seen by both peers after | p50 | p99 | max |")
        print("|---|---|---|---|")
        print("| one settlement on node 1 | \(format(p50)) ms | \(format(p99)) ms | \(format(milliseconds(delays.last!))) ms |")
        print("")
        print("ratio to the gossip interval (\(intervalMilliseconds) ms): p50 \(format(p50 / interval))×, p99 \(format(p99 / interval))×")
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
