import SeededRandom
import Consensus

/// One seeded run of a simulated Raft cluster with faults, checked after every step.
///
/// The seed decides everything: the number of nodes, the fault profile, every delay,
/// loss, partition, crash, restart, membership change, transfer and proposal. A run has a
/// safety phase with faults, then a liveness phase in which faults stop and the cluster
/// must converge within `Limits.livenessTicksMax`.
public final class RaftSimulator {
    /// Sizes of a run.
    public struct Limits: Sendable {
        /// Ticks of the safety phase (faults on).
        public var safetyTicks: UInt64 = 600
        /// Ticks the cluster gets to converge once faults stop.
        public var livenessTicksMax: UInt64 = 600
        /// Nodes running at once, at most.
        public var nodesMax = 7
        /// Rounds of ready-and-deliver within one tick.
        public var roundsPerTickMax = 20

        public init() {}
    }

    struct SimNode {
        var raw: RawNode
        let storage: MemoryStorage
        var applied = AppliedLog()
        var membership: ConfigurationState
        var appliedSinceSnapshot = 0
    }

    struct Fingerprint: Equatable {
        let term: UInt64
        let kind: Entry.Kind
        let data: [UInt8]
    }

    let seed: UInt64
    let limits: Limits
    var random: SplitMix64
    let profile: FaultProfile
    var nodes: [NodeID: SimNode] = [:]
    var crashed: [NodeID: MemoryStorage] = [:]
    var removed: Set<NodeID> = []
    var stopAt: [NodeID: UInt64] = [:]
    var nextNodeID: NodeID
    var network = SimulatedNetwork()
    var now: UInt64 = 0
    var faultsOn = true

    // What the checks remember.
    var leaderOfTerm: [UInt64: NodeID] = [:]
    var persisted: [UInt64: [UInt64: Fingerprint]] = [:]
    var predecessorTerm: [UInt64: [UInt64: UInt64]] = [:]
    var appliedAt: [UInt64: Fingerprint] = [:]
    var pendingProposals: [[UInt8]: NodeID] = [:]
    var acknowledged: [UInt64: [UInt8]] = [:]
    var proposalCounter: UInt64 = 0
    public private(set) var violations: [String] = []

    /// A run for `seed` (not started).
    public init(seed: UInt64, limits: Limits = Limits()) {
        self.seed = seed
        self.limits = limits
        random = SplitMix64(seed: seed)
        profile = FaultProfile(random: &random)
        let voters = (1...NodeID(profile.initialVoters)).map { $0 }
        nextNodeID = NodeID(voters.count + 1)
        let membership = ConfigurationState(voters: voters)
        for id in voters { start(id, storage: MemoryStorage(bootstrap: membership)) }
        network.lossPerMille = profile.lossPerMille
        network.duplicatePerMille = profile.duplicatePerMille
        network.delayTicksMax = profile.delayTicksMax
    }

    func start(_ id: NodeID, storage: MemoryStorage) {
        var configuration = RaftConfiguration(id: id, randomSeed: random.next())
        configuration.applied = storage.currentSnapshot.metadata.index
        configuration.appendBytesMax = 4096
        configuration.inflightAppendsMax = 16
        let raw = try! RawNode(configuration: configuration, storage: storage)
        var node = SimNode(raw: raw, storage: storage, membership: storage.currentSnapshot.metadata.configuration)
        node.applied = AppliedLog.decode(storage.currentSnapshot.data)
        nodes[id] = node
    }

    /// Runs the safety phase, then the liveness phase; returns the report.
    public func run() -> RaftSimulationReport {
        while now < limits.safetyTicks && violations.isEmpty {
            step()
        }
        faultsOn = false
        network.heal()
        for (id, storage) in crashed.sorted(by: { $0.key < $1.key }) where !removed.contains(id) { start(id, storage: storage) }
        crashed = [:]
        let livenessEnd = now + limits.livenessTicksMax
        var converged = false
        while now < livenessEnd && violations.isEmpty {
            step()
            if let leader = convergedLeader() {
                converged = true
                checkAcknowledged(leader: leader)
                break
            }
        }
        if !converged && violations.isEmpty {
            violate("did not converge within \(limits.livenessTicksMax) ticks after faults stopped: \(describeState())")
        }
        return RaftSimulationReport(
            seed: seed, violations: violations, nodes: nodes.count, acknowledged: acknowledged.count,
            committed: appliedAt.keys.max() ?? 0, ticks: now, profile: profile.description)
    }

    /// One tick of virtual time.
    func step() {
        now += 1
        if faultsOn { injectFaults() }
        for (id, at) in stopAt where at <= now {
            nodes[id] = nil
            stopAt[id] = nil
        }
        if faultsOn { proposeClientRequests() }
        for id in nodes.keys.sorted().shuffled(using: &random) { nodes[id]?.raw.tick() }
        for _ in 0..<limits.roundsPerTickMax {
            var moved = false
            for id in nodes.keys.sorted().shuffled(using: &random) where processReady(id) { moved = true }
            for message in network.due(now: now) {
                guard nodes[message.to] != nil else { continue }
                nodes[message.to]!.raw.step(message)
                moved = true
            }
            if !moved { break }
        }
        checkOneLeaderPerTerm()
        compactLogs()
    }

    func violate(_ what: String) {
        violations.append("tick \(now): \(what)")
    }

    func chance(_ perMille: Int) -> Bool { Int.random(in: 0..<1000, using: &random) < perMille }
}

/// The outcome of one seed.
public struct RaftSimulationReport: Sendable {
    public let seed: UInt64
    public let violations: [String]
    public let nodes: Int
    public let acknowledged: Int
    public let committed: UInt64
    public let ticks: UInt64
    public let profile: String
}

/// The faults a seed turns on, and how hard.
struct FaultProfile: CustomStringConvertible {
    let initialVoters: Int
    let lossPerMille: Int
    let duplicatePerMille: Int
    let delayTicksMax: UInt64
    let partitionPerMille: Int
    let crashPerMille: Int
    let crashInReadyPerMille: Int
    let restartPerMille: Int
    let membershipPerMille: Int
    let transferPerMille: Int
    let proposalPerMille: Int
    let compactEveryEntries: Int

    init(random: inout SplitMix64) {
        initialVoters = Int.random(in: 3...7, using: &random)
        lossPerMille = [0, 10, 50, 150].randomElement(using: &random)!
        duplicatePerMille = [0, 10, 50].randomElement(using: &random)!
        delayTicksMax = [0, 1, 3].randomElement(using: &random)!
        partitionPerMille = [0, 5, 20].randomElement(using: &random)!
        crashPerMille = [0, 3, 10].randomElement(using: &random)!
        crashInReadyPerMille = [0, 1, 3].randomElement(using: &random)!
        restartPerMille = [20, 50].randomElement(using: &random)!
        membershipPerMille = [0, 5, 15].randomElement(using: &random)!
        transferPerMille = [0, 5, 15].randomElement(using: &random)!
        proposalPerMille = [200, 600].randomElement(using: &random)!
        compactEveryEntries = [10, 40, 1_000_000].randomElement(using: &random)!
    }

    var description: String {
        "voters=\(initialVoters) loss=\(lossPerMille)‰ dup=\(duplicatePerMille)‰ delay≤\(delayTicksMax) "
            + "partition=\(partitionPerMille)‰ crash=\(crashPerMille)‰ crash-in-ready=\(crashInReadyPerMille)‰ "
            + "membership=\(membershipPerMille)‰ transfer=\(transferPerMille)‰ compact=\(compactEveryEntries)"
    }
}
