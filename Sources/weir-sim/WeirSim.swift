import ArgumentParser
import QuotaSimulation
import RaftSimulation

/// `weir-sim`: seeded simulations of Weir's pure cores.
@main
struct WeirSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir-sim",
        abstract: "Seeded, deterministic simulations of Weir's consensus and quota cores.",
        subcommands: [RaftCommand.self, QuotaCommand.self])
}

struct RaftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Simulate Raft clusters with faults; every seed is checked for safety, then liveness.")

    @Option(help: "How many seeds to run.") var seeds: UInt64 = 100
    @Option(help: "The first seed.") var start: UInt64 = 1
    @Option(help: "Ticks of the safety phase (faults on).") var safetyTicks: UInt64 = 600
    @Option(help: "Ticks allowed to converge once faults stop.") var livenessTicks: UInt64 = 600
    @Option(help: "Inject a known bug to see the checks catch it: none, amnesia (a wiped voter comes back as a voter), local-reads (reads at the node's own commit index).")
    var mutation: Mutation = .none
    @Option(help: "Disk wipes per mille of ticks, instead of each seed's own rate.") var wipePerMille: Int?
    @Flag(help: "Print one line per seed.") var verbose = false

    enum Mutation: String, ExpressibleByArgument, CaseIterable {
        case none, amnesia, localReads = "local-reads"
    }

    func validate() throws { try validateSeedRange(start: start, seeds: seeds) }

    func run() throws {
        var limits = RaftSimulator.Limits()
        limits.safetyTicks = safetyTicks
        limits.livenessTicksMax = livenessTicks
        limits.unsafeAmnesia = mutation == .amnesia
        limits.unsafeLocalReads = mutation == .localReads
        limits.wipePerMille = wipePerMille
        var violations = 0
        var counts = RaftSimulationReport.Counts()
        let mutationFlag = (mutation == .none ? "" : " --mutation \(mutation.rawValue)") + (wipePerMille.map { " --wipe-per-mille \($0)" } ?? "")
        for seed in start..<(start + seeds) {
            let report = RaftSimulator(seed: seed, limits: limits).run()
            counts.add(report.counts)
            if verbose || !report.violations.isEmpty {
                print("seed \(seed): \(report.profile) nodes=\(report.nodes) committed=\(report.committed) acknowledged=\(report.acknowledged) ticks=\(report.ticks) \(report.counts)")
            }
            if !report.violations.isEmpty {
                violations += 1
                report.violations.prefix(5).forEach { print("  violation: \($0)") }
                print("  replay: swift run -c release weir-sim raft --seeds 1 --start \(seed) --safety-ticks \(safetyTicks) --liveness-ticks \(livenessTicks)\(mutationFlag)")
            }
        }
        print("raft seeds=\(seeds) start=\(start) violations=\(violations)\(mutation == .none ? "" : " mutation=\(mutation.rawValue)")")
        print("raft faults exercised: \(counts)")
        if violations > 0 { throw ExitCode(1) }
    }
}

struct QuotaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Simulate quota admission across a faulty cluster; every admission is checked against the cap.")

    @Option(help: "How many seeds to run.") var seeds: UInt64 = 100
    @Option(help: "The first seed.") var start: UInt64 = 1
    @Option(help: "Simulated milliseconds with faults on.") var safetyMilliseconds: Int64 = 30_000
    @Flag(help: "Print one line per seed.") var verbose = false
    @Flag(help: "Windows start in the pool (as on a node): allocations through a simulated log, pauses, clock skew, leader changes.")
    var pooled = false
    @Flag(help: "Run only the seeds that draw a balanced, fault-free LAN run (where 99 % of a cap must be admitted before the first refusal); --seeds counts those.")
    var healthyOnly = false

    func validate() throws {
        try validateSeedRange(start: start, seeds: seeds)
        if healthyOnly && seeds > Self.healthySeedsMax { throw ValidationError("--healthy-only runs at most \(Self.healthySeedsMax) seeds") }
    }

    /// The most seeds `--healthy-only` lists ahead.
    static let healthySeedsMax: UInt64 = 1_000_000

    /// The first `seeds` seeds from `start` on that draw a healthy run.
    private func healthySeeds() -> [UInt64] {
        var chosen: [UInt64] = []
        var seed = start
        while UInt64(chosen.count) < seeds {
            if QuotaSimulator.isHealthy(seed: seed) { chosen.append(seed) }
            guard seed < UInt64.max else { break }
            seed += 1
        }
        return chosen
    }

    func run() throws {
        var limits = QuotaSimulator.Limits()
        limits.safetyMilliseconds = safetyMilliseconds
        limits.pooled = pooled
        var strandedMax = 0.0
        var violations = 0
        var overshootMax: Int64 = 0
        var admittedMin = 100.0
        var writeFailures = 0
        // Seeds run one by one; only the healthy ones are listed ahead (at most a million).
        let chosen = healthyOnly ? AnySequence(healthySeeds()) : AnySequence(start..<(start + seeds))
        var ran: UInt64 = 0, last = start
        for seed in chosen {
            ran += 1
            last = seed
            let report = QuotaSimulator(seed: seed, limits: limits).run()
            writeFailures += report.writeFailures
            overshootMax = max(overshootMax, report.overshootMax)
            if let percent = report.admittedMinPercent { admittedMin = min(admittedMin, percent) }
            if let percent = report.strandedMaxPercent { strandedMax = max(strandedMax, percent) }
            if verbose || !report.violations.isEmpty {
                print("seed \(seed): \(report.profile) admitted=\(report.admitted) refused=\(report.refused) "
                      + "overshoot=\(report.overshootMax) admitted_min_pct=\(report.admittedMinPercent.map(oneDecimal) ?? "-") \(report.worstWindow ?? "")")
            }
            if !report.violations.isEmpty {
                violations += 1
                report.violations.prefix(5).forEach { print("  violation: \($0)") }
                print("  replay: swift run -c release weir-sim quota --seeds 1 --start \(seed) --safety-milliseconds \(safetyMilliseconds)\(pooled ? " --pooled" : "")")
            }
        }
        let stranded = pooled ? " stranded_max_pct=\(oneDecimal(strandedMax))" : ""
        print("quota\(pooled ? " pooled" : "")\(healthyOnly ? " healthy-only" : "") seeds=\(ran) start=\(start) last=\(last) violations=\(violations) overshoot_max=\(overshootMax) admitted_min_pct=\(oneDecimal(admittedMin))\(stranded) write_failures=\(writeFailures)")
        if violations > 0 { throw ExitCode(1) }
    }
}

/// Refuses a seed range that would run past the last seed (2^64 − 1).
func validateSeedRange(start: UInt64, seeds: UInt64) throws {
    guard seeds <= UInt64.max - start else { throw ValidationError("--start plus --seeds must stay below 2^64") }
}

/// `99.53` → `"99.5"`, without Foundation.
func oneDecimal(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded(.down))
    return "\(tenths / 10).\(tenths % 10)"
}
