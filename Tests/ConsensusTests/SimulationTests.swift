import Foundation
import Testing
import RaftSimulation

/// The seeded fault simulation (see `weir-sim raft`): every seed must keep Raft's safety
/// properties throughout, then converge once faults stop. A failure names its seed and
/// the command that replays it.
@Suite struct SimulationTests {
    /// 1...300, or `WEIR_SIM_SEEDS=first...last` for a wider sweep.
    static let seeds: ClosedRange<UInt64> = {
        let bounds = (ProcessInfo.processInfo.environment["WEIR_SIM_SEEDS"] ?? "").split(separator: ".", omittingEmptySubsequences: true)
        guard bounds.count == 2, let first = UInt64(bounds[0]), let last = UInt64(bounds[1]), first <= last else { return 1...300 }
        return first...last
    }()

    @Test(arguments: [SimulationTests.seeds])
    func seededFaultRunsStaySafeAndConverge(seeds: ClosedRange<UInt64>) {
        var limits = RaftSimulator.Limits()
        limits.safetyTicks = 300
        limits.livenessTicksMax = 600
        for seed in seeds {
            let report = RaftSimulator(seed: seed, limits: limits).run()
            #expect(report.violations.isEmpty, """
                seed \(seed) (\(report.profile)) failed:
                \(report.violations.prefix(3).joined(separator: "\\n"))
                replay: swift run -c release weir-sim raft --seeds 1 --start \(seed) --safety-ticks 300 --liveness-ticks 600
                """)
        }
    }

    @Test func oneSeedReproducesTheSameRun() {
        let first = RaftSimulator(seed: 77).run()
        let second = RaftSimulator(seed: 77).run()
        #expect(first.committed == second.committed && first.acknowledged == second.acknowledged)
        #expect(first.ticks == second.ticks && first.profile == second.profile)
    }
}
