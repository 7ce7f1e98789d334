import Testing
import RaftSimulation

/// The seeded fault simulation (see `weir-sim raft`): every seed must keep Raft's safety
/// properties throughout, then converge once faults stop. A failure names its seed and
/// the command that replays it.
@Suite struct SimulationTests {
    static let seeds: ClosedRange<UInt64> = 1...300

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
