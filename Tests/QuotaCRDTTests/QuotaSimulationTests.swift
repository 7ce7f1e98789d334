import QuotaSimulation
import Testing

/// The seeded quota simulation (see `weir-sim quota`): in every window, admitted usage
/// never exceeds the cap except by actual usage above estimates; views converge once
/// faults stop; balanced fault-free runs admit at least 99% of a cap before refusing.
@Suite struct QuotaSimulationTests {
    @Test func twoHundredSeedsHoldEveryCap() {
        var limits = QuotaSimulator.Limits()
        limits.safetyMilliseconds = 15_000
        var lowest = 100.0
        for seed in UInt64(1)...200 {
            let report = QuotaSimulator(seed: seed, limits: limits).run()
            #expect(report.violations.isEmpty, """
                seed \(seed) (\(report.profile)) failed:
                \(report.violations.prefix(3).joined(separator: "\\n"))
                replay: swift run -c release weir-sim quota --seeds 1 --start \(seed) --safety-milliseconds 15000
                """)
            if let percent = report.admittedMinPercent {
                lowest = min(lowest, percent)
                #expect(percent >= 99, "seed \(seed): only \(percent)% of a cap admitted before the first refusal: \(report.worstWindow ?? "")")
            }
        }
        #expect(lowest >= 99)
    }

    @Test func oneSeedReproducesTheSameRun() {
        let first = QuotaSimulator(seed: 42).run()
        let second = QuotaSimulator(seed: 42).run()
        #expect(first.admitted == second.admitted && first.refused == second.refused && first.overshootMax == second.overshootMax)
    }
}
