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

    /// Seeds far from the first range, so that nothing holds only where it was tuned.
    static let farSeeds: ClosedRange<UInt64> = 8_000_000_001...8_000_000_050

    static var limits: RaftSimulator.Limits {
        var limits = RaftSimulator.Limits()
        limits.safetyTicks = 300
        limits.livenessTicksMax = 600
        return limits
    }

    @Test(arguments: [SimulationTests.seeds, SimulationTests.farSeeds])
    func seededFaultRunsStaySafeAndConverge(seeds: ClosedRange<UInt64>) {
        var counts = RaftSimulationReport.Counts()
        for seed in seeds {
            let report = RaftSimulator(seed: seed, limits: Self.limits).run()
            counts.add(report.counts)
            #expect(report.violations.isEmpty, """
                seed \(seed) (\(report.profile)) failed:
                \(report.violations.prefix(3).joined(separator: "\\n"))
                replay: swift run -c release weir-sim raft --seeds 1 --start \(seed) --safety-ticks 300 --liveness-ticks 600
                """)
        }
        // The faults were exercised, not only drawn.
        print("raft seeds \(seeds): \(counts)")
        #expect(counts.powerLosses > 0 && counts.wipes > 0 && counts.rejoins > 0 && counts.pauses > 0, "\(counts)")
        #expect(counts.forwarded > 0 && counts.followerTransfers > 0 && counts.readsAnswered > 0, "\(counts)")
    }

    /// The checks are strong enough to catch the bug the incarnation check prevents: a
    /// voter whose disk was wiped coming back at once as a voter with an empty log (it
    /// votes again in terms it already voted in, and helps elect a leader that lacks
    /// committed entries). Disks are wiped at 30 ‰ of ticks here, to aim the sweep.
    @Test func theChecksCatchAWipedVoterComingBackAsAVoter() {
        var limits = Self.limits
        limits.unsafeAmnesia = true
        limits.wipePerMille = 30
        let caught = (1...100 as ClosedRange<UInt64>).filter { !RaftSimulator(seed: $0, limits: limits).run().violations.isEmpty }
        print("amnesia mutation caught on \(caught.count) of 100 seeds: \(caught.prefix(10))")
        #expect(!caught.isEmpty, "no seed of 1...100 noticed a wiped voter rejoining as a voter")
    }

    /// The same wipe rate with the real remedy (remove, then rejoin as a learner) is safe
    /// and converges.
    @Test func frequentWipesWithTheRemedyStaySafe() {
        var limits = Self.limits
        limits.wipePerMille = 30
        var rejoins = 0
        for seed in 1...60 as ClosedRange<UInt64> {
            let report = RaftSimulator(seed: seed, limits: limits).run()
            rejoins += report.counts.rejoins
            #expect(report.violations.isEmpty, """
                seed \(seed) failed: \(report.violations.prefix(3).joined(separator: "\\n"))
                replay: swift run -c release weir-sim raft --seeds 1 --start \(seed) --safety-ticks 300 --liveness-ticks 600 --wipe-per-mille 30
                """)
        }
        #expect(rejoins >= 60, "wiped nodes rejoined \(rejoins) times")
    }

    /// The read check is strong enough to catch reads served at the node's own commit
    /// index (a partitioned or lagging node answers with old state).
    @Test func theChecksCatchReadsServedWithoutAQuorum() {
        var limits = Self.limits
        limits.unsafeLocalReads = true
        let caught = (1...50 as ClosedRange<UInt64>).filter { !RaftSimulator(seed: $0, limits: limits).run().violations.isEmpty }
        print("local-read mutation caught on \(caught.count) of 50 seeds: \(caught.prefix(10))")
        #expect(!caught.isEmpty, "no seed of 1...50 noticed a stale local read")
    }

    @Test func oneSeedReproducesTheSameRun() {
        let first = RaftSimulator(seed: 77).run()
        let second = RaftSimulator(seed: 77).run()
        #expect(first.committed == second.committed && first.acknowledged == second.acknowledged)
        #expect(first.ticks == second.ticks && first.profile == second.profile)
    }
}
