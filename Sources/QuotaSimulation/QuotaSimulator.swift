import SeededRandom
import QuotaCRDT

/// One seeded run of quota admission on a simulated cluster, checked after every
/// admission: in every window, what the members admitted never exceeds the cap, except
/// by what requests used beyond their estimates (reported separately).
public final class QuotaSimulator {
    /// Sizes of a run.
    public struct Limits: Sendable {
        /// Simulated milliseconds with faults on.
        public var safetyMilliseconds: Int64 = 30_000
        /// Milliseconds allowed for the views to converge once faults stop.
        public var livenessMillisecondsMax: Int64 = 5_000
        /// Windows start in the pool (`QuotaPool`), as on a node, instead of split over
        /// the members; pauses, clock skew and leader changes are modelled too.
        public var pooled = false
        public init() {}
    }

    struct SimNode {
        var ledger: QuotaLedger
        var open: [(id: ReservationID, estimate: Usage, actual: Usage, settleAt: Int64, keys: [WindowKey])] = []
        /// What each peer was last sent, for deltas.
        var sent: [UInt64: [WindowKey: EscrowCounter]] = [:]
        var rightsAskedAt: [WindowKey: Int64] = [:]
        var topUpAskedAt: [WindowKey: Int64] = [:]
        /// The ledger changed since waiting requests were last tried.
        var changed = false
    }

    enum Payload {
        case gossip([WindowUpdate])
        case rightsRequest(WindowKey, Usage, RightsRequestKind)
        case rightsGrant([WindowUpdate])
    }

    struct InFlight {
        let deliverAt: Int64
        let from: UInt64
        let to: UInt64
        let payload: Payload
    }

    let seed: UInt64
    let limits: Limits
    var random: SplitMix64
    let profile: QuotaProfile
    /// The voting members now; `schedule` is how windows split by their start (the
    /// replicated schedule, applied by every node before it takes effect).
    var members: [UInt64]
    var schedule = MembershipSchedule()
    /// Nodes that drained: they handed their rights back and take no new requests.
    var leaving: Set<UInt64> = []
    var nodes: [UInt64: SimNode] = [:]
    /// Each node's `quota` column family: its latest record per window, as written.
    var stored: [UInt64: [WindowKey: WindowUpdate]] = [:]
    var writeFailures = 0
    var windowsExpired = 0
    var crashed: Set<UInt64> = []
    var cut: Set<[UInt64]> = []
    var network: [InFlight] = []
    var specs: [QuotaSpec]
    var now: Int64 = 1_800_000_000_000
    var faultsOn = true

    // The truth the checks compare against, per window.
    var truth: [WindowKey: Usage] = [:]
    var excess: [WindowKey: Usage] = [:]
    var capAtAdmission: [WindowKey: Caps] = [:]
    var ceiling: [WindowKey: Usage] = [:]
    var firstRefusal: [WindowKey: Usage] = [:]
    public private(set) var violations: [String] = []
    public internal(set) var overshootMax: Int64 = 0
    var admitted = 0
    var refused = 0
    var pending: [UInt64: [PendingRequest]] = [:]
    // Pooled runs (QuotaSimulator+Pool.swift).
    var log = PooledLog()
    var clockOffsets: [UInt64: Int64] = [:]
    var pausedUntil: [UInt64: Int64] = [:]
    var admittedBy: [WindowKey: [UInt64: Usage]] = [:]
    var strandedMax = 0.0

    public init(seed: UInt64, limits: Limits = Limits()) {
        self.seed = seed
        self.limits = limits
        random = SplitMix64(seed: seed)
        profile = QuotaProfile(random: &random)
        members = (1...UInt64(profile.nodes)).map { $0 }
        specs = QuotaSimulator.makeSpecs(&random)
        for id in members { nodes[id] = SimNode(ledger: QuotaLedger(member: id, tracksDurability: true)) }
        schedule.append(effectiveFrom: .min, voters: limits.pooled ? [QuotaLedger.poolMember] : members)
        if limits.pooled {
            for id in members { clockOffsets[id] = Int64.random(in: -Self.clockSkewMillisecondsMax...Self.clockSkewMillisecondsMax, using: &random) }
        }
    }

    /// True when `seed` draws a balanced, fault-free LAN run: the runs on which at least
    /// 99 % of a cap must be admitted before the first refusal (`admittedMinPercent`).
    /// Cheap: only the seed's profile is drawn, so a sweep can pick these seeds out.
    public static func isHealthy(seed: UInt64) -> Bool {
        var random = SplitMix64(seed: seed)
        let profile = QuotaProfile(random: &random)
        return profile.isFaultFree && !profile.skewed
    }

    static func makeSpecs(_ random: inout SplitMix64) -> [QuotaSpec] {
        [
            QuotaSpec(id: QuotaID(lane: .user, subject: "user:sim", name: "requests"), period: .tenSeconds,
                      caps: Caps(requests: Int64.random(in: 50...500, using: &random))),
            QuotaSpec(id: QuotaID(lane: .org, subject: "org:sim", name: "tokens"), period: .minute,
                      caps: Caps(tokens: Int64.random(in: 20_000...200_000, using: &random))),
            QuotaSpec(id: QuotaID(lane: .app, subject: "app:sim", name: "spend"), period: .hour,
                      caps: Caps(microUSD: Int64.random(in: 100_000...2_000_000, using: &random))),
        ]
    }

    /// Runs both phases and returns the report.
    public func run() -> QuotaSimulationReport {
        let end = now + limits.safetyMilliseconds
        while now < end && violations.isEmpty { step() }
        faultsOn = false
        cut = []
        pausedUntil = [:]
        log.stalledUntil = .min
        for id in crashed.sorted() { restart(id) }
        settleEverything()
        let deadline = now + limits.livenessMillisecondsMax
        var converged = false
        while now < deadline && violations.isEmpty {
            step()
            if viewsConverged() { converged = true; break }
        }
        if !converged && violations.isEmpty {
            violate("views did not converge within \(limits.livenessMillisecondsMax) ms after faults stopped: \(divergence())")
        }
        let efficiency = admittedMinPercent()
        return QuotaSimulationReport(
            seed: seed, violations: violations, overshootMax: overshootMax, admittedMinPercent: efficiency?.percent,
            worstWindow: efficiency?.window, profile: (limits.pooled ? "pooled " : "") + profile.description, admitted: admitted,
            refused: refused, strandedMaxPercent: limits.pooled ? strandedMax : nil, writeFailures: writeFailures,
            windowsExpired: windowsExpired)
    }

    func violate(_ what: String) { violations.append("t=\(now): \(what)") }

    func chance(_ perMille: Int) -> Bool { Int.random(in: 0..<1000, using: &random) < perMille }
}

/// The outcome of one seed.
public struct QuotaSimulationReport: Sendable {
    public let seed: UInt64
    public let violations: [String]
    /// The largest excess over a cap that came only from actual usage above estimates.
    public let overshootMax: Int64
    /// The smallest share of a cap admitted before the first refusal, in windows with
    /// balanced load and no faults (nil when the seed has faults or skewed load).
    public let admittedMinPercent: Double?
    /// The window behind `admittedMinPercent`.
    public let worstWindow: String?
    public let profile: String
    public let admitted: Int
    public let refused: Int
    /// Pooled runs: the largest share of a cap held unused, at a window's first refusal,
    /// by nodes that could not serve then (paused, crashed, cut off).
    public let strandedMaxPercent: Double?
    /// Quota record writes that failed (and were not confirmed, or took a grant back).
    public let writeFailures: Int
    /// Windows dropped from members' ledgers (and their records deleted) once over.
    public let windowsExpired: Int
}

/// What a seed turns on.
struct QuotaProfile: CustomStringConvertible {
    let nodes: Int
    let skewed: Bool
    let requestsPerSecond: Int
    let lossPerMille: Int
    let delayMillisecondsMax: Int64
    let partitionPerMille: Int
    let crashPerMille: Int
    let capChangePerMille: Int
    let membershipChangePerMille: Int
    let overEstimatePerMille: Int
    let duplicatePerMille: Int
    /// Writes of quota records (marks, grants, hand-backs) that fail, per mille.
    let writeFailPerMille: Int

    init(random: inout SplitMix64) {
        nodes = Int.random(in: 3...7, using: &random)
        skewed = Bool.random(using: &random)
        requestsPerSecond = [20, 60, 150].randomElement(using: &random)!
        let faulty = Int.random(in: 0..<4, using: &random) != 0
        lossPerMille = faulty ? [0, 20, 100].randomElement(using: &random)! : 0
        delayMillisecondsMax = [0, 20, 100].randomElement(using: &random)!
        partitionPerMille = faulty ? [0, 2, 5].randomElement(using: &random)! : 0
        crashPerMille = faulty ? [0, 1, 3].randomElement(using: &random)! : 0
        capChangePerMille = faulty ? [0, 2].randomElement(using: &random)! : 0
        membershipChangePerMille = faulty ? [0, 1, 2].randomElement(using: &random)! : 0
        overEstimatePerMille = [0, 20].randomElement(using: &random)!
        // Drawn last and only on faulty seeds, so fault-free seeds run as they did.
        duplicatePerMille = faulty ? [0, 10, 50].randomElement(using: &random)! : 0
        writeFailPerMille = faulty ? [0, 0, 20, 100].randomElement(using: &random)! : 0
    }

    /// No loss, partition, crash or cap change, and LAN latency (one way ≤ 20 ms): the
    /// condition under which at least 99% of a cap must be admitted before the first
    /// refusal. (At 100 ms one way, rights spend long in transit between short members.)
    var isFaultFree: Bool {
        lossPerMille == 0 && partitionPerMille == 0 && crashPerMille == 0 && capChangePerMille == 0
            && membershipChangePerMille == 0 && delayMillisecondsMax <= 20 && duplicatePerMille == 0 && writeFailPerMille == 0
    }

    var description: String {
        "nodes=\(nodes) \(skewed ? "skewed" : "balanced") rps=\(requestsPerSecond) loss=\(lossPerMille)‰ delay≤\(delayMillisecondsMax)ms "
            + "partition=\(partitionPerMille)‰ crash=\(crashPerMille)‰ cap-change=\(capChangePerMille)‰ membership=\(membershipChangePerMille)‰ over-estimate=\(overEstimatePerMille)‰ "
            + "dup=\(duplicatePerMille)‰ write-fail=\(writeFailPerMille)‰"
    }
}
