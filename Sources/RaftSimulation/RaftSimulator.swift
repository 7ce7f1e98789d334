import SeededRandom
import Consensus

/// One seeded run of a simulated Raft cluster with faults, checked after every step.
///
/// The seed decides everything: the number of nodes, the fault profile, every delay,
/// loss, partition, pause, crash (with or without power loss), disk wipe and its remedy,
/// restart, clock rate, membership change, transfer, proposal (on the leader or forwarded
/// by a follower) and ReadIndex read. A run has a safety phase with faults, then a liveness
/// phase in which faults stop and the cluster must converge within `Limits.livenessTicksMax`.
///
/// Storage is modelled as the node's RocksDB store behaves: a `Ready` is one atomic batch,
/// synced when `mustSync`; a batch that only moves the commit index is not synced, and a
/// power loss drops it (a later synced write makes earlier ones durable, as the WAL does).
/// A crash before the batch is written loses all of it (a torn batch fails its checksum).
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
        /// A deliberate bug, to prove the checks catch it: a wiped voter restarts as a voter
        /// with an empty log instead of being removed and re-added as a learner.
        public var unsafeAmnesia = false
        /// A deliberate bug, to prove the checks catch it: a read is answered at the node's
        /// own commit index instead of a ReadIndex confirmed by a quorum.
        public var unsafeLocalReads = false
        /// Disk wipes per mille of ticks, instead of the seed's rate (to aim a sweep at them).
        public var wipePerMille: Int?

        public init() {}
    }

    struct SimNode {
        var raw: RawNode
        let storage: MemoryStorage
        var applied = AppliedLog()
        var membership: ConfigurationState
        var appliedSinceSnapshot = 0
        /// The hard state as of the last synced write: what survives a power loss.
        var durableHardState: HardState
        /// This node's clock rate: ticks per thousand simulated ticks.
        let tickRatePerMille: Int
        var tickCredit = 0
    }

    /// A ReadIndex read waiting for its answer.
    struct PendingRead {
        let node: NodeID
        /// The highest index applied anywhere when the read began: a linearizable read
        /// must not return state older than that.
        let floor: UInt64
    }

    /// A proposal a follower forwarded to the leader it knows, in flight.
    struct Forward {
        let deliverAt: UInt64
        let from: NodeID
        let to: NodeID
        let data: [UInt8]
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
    /// Nodes whose disk was wiped, waiting for the operator's remedy (remove, then re-add).
    var wiped: Set<NodeID> = []
    /// Paused processes (SIGSTOP) and the tick they resume at.
    var pausedUntil: [NodeID: UInt64] = [:]
    var forwards: [Forward] = []
    var pendingReads: [[UInt8]: PendingRead] = [:]
    var readCounter: UInt64 = 0
    var counts = RaftSimulationReport.Counts()

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
        network.longDelayPerMille = profile.longDelayPerMille
    }

    func start(_ id: NodeID, storage: MemoryStorage) {
        var configuration = RaftConfiguration(id: id, randomSeed: random.next())
        configuration.applied = storage.currentSnapshot.metadata.index
        configuration.appendBytesMax = 4096
        configuration.inflightAppendsMax = 16
        let raw: RawNode
        do {
            raw = try RawNode(configuration: configuration, storage: storage)
        } catch {
            violate("node \(id) cannot start from its storage: \(error)")
            return
        }
        let spread = profile.tickSkewPerMille
        var node = SimNode(
            raw: raw, storage: storage, membership: storage.currentSnapshot.metadata.configuration,
            durableHardState: storage.hardState,
            tickRatePerMille: 1000 + (spread == 0 ? 0 : Int.random(in: -spread...spread, using: &random)))
        node.applied = AppliedLog.decode(storage.currentSnapshot.data)
        nodes[id] = node
        pausedUntil[id] = nil
    }

    /// Runs the safety phase, then the liveness phase; returns the report.
    public func run() -> RaftSimulationReport {
        while now < limits.safetyTicks && violations.isEmpty {
            step()
        }
        faultsOn = false
        network.heal()
        pausedUntil = [:]
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
            committed: appliedAt.keys.max() ?? 0, ticks: now, profile: profile.description, counts: counts)
    }

    /// One tick of virtual time.
    func step() {
        now += 1
        for (id, until) in pausedUntil where until <= now { pausedUntil[id] = nil }
        if faultsOn { injectFaults() }
        repairWipedNodes()
        for (id, at) in stopAt where at <= now {
            nodes[id] = nil
            stopAt[id] = nil
        }
        if faultsOn {
            proposeClientRequests()
            issueRead()
        }
        deliverForwards()
        for id in nodes.keys.sorted().shuffled(using: &random) where isRunning(id) { tickAtItsRate(id) }
        for _ in 0..<limits.roundsPerTickMax {
            var moved = false
            for id in nodes.keys.sorted().shuffled(using: &random) where isRunning(id) && processReady(id) {
                moved = true
                checkOneLeaderPerTerm()
            }
            for message in network.due(now: now) {
                guard nodes[message.to] != nil else { continue }
                if let until = pausedUntil[message.to] {
                    network.hold(message, until: until)
                    continue
                }
                nodes[message.to]!.raw.step(message)
                checkOneLeaderPerTerm()
                moved = true
            }
            if !moved { break }
        }
        compactLogs()
    }

    /// Running and not paused.
    func isRunning(_ id: NodeID) -> Bool { nodes[id] != nil && pausedUntil[id] == nil }

    /// Ticks `id` as often as its clock says for one simulated tick: clocks run at
    /// different rates, so election timeouts and heartbeats drift apart.
    private func tickAtItsRate(_ id: NodeID) {
        nodes[id]!.tickCredit += nodes[id]!.tickRatePerMille
        while nodes[id]!.tickCredit >= 1000 {
            nodes[id]!.tickCredit -= 1000
            nodes[id]!.raw.tick()
        }
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
    public let counts: Counts

    /// How often each fault and operation happened in the run, so that a sweep shows the
    /// faults were exercised and not only drawn.
    public struct Counts: Sendable, CustomStringConvertible {
        public var crashes = 0
        public var powerLosses = 0
        public var wipes = 0
        public var rejoins = 0
        public var pauses = 0
        public var forwarded = 0
        public var followerTransfers = 0
        public var readsAnswered = 0

        public init() {}

        public var description: String {
            "crashes=\(crashes) power_losses=\(powerLosses) wipes=\(wipes) rejoins=\(rejoins) pauses=\(pauses) "
                + "forwarded=\(forwarded) follower_transfers=\(followerTransfers) reads=\(readsAnswered)"
        }

        /// Adds `other`'s counts to these.
        public mutating func add(_ other: Counts) {
            crashes += other.crashes
            powerLosses += other.powerLosses
            wipes += other.wipes
            rejoins += other.rejoins
            pauses += other.pauses
            forwarded += other.forwarded
            followerTransfers += other.followerTransfers
            readsAnswered += other.readsAnswered
        }
    }
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
    let longDelayPerMille: Int
    let pausePerMille: Int
    /// Of crashes, the share (per mille) that are power losses, dropping unsynced writes.
    let powerLossPerMille: Int
    let wipePerMille: Int
    /// Each node's clock runs at 1000 ± up to this many ticks per thousand.
    let tickSkewPerMille: Int
    /// Of proposals, the share (per mille) that arrive at a follower and are forwarded.
    let forwardPerMille: Int
    let readPerMille: Int

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
        longDelayPerMille = [0, 0, 5, 20].randomElement(using: &random)!
        pausePerMille = [0, 3, 10].randomElement(using: &random)!
        powerLossPerMille = [0, 500, 1000].randomElement(using: &random)!
        wipePerMille = [0, 3, 10].randomElement(using: &random)!
        tickSkewPerMille = [0, 100, 300].randomElement(using: &random)!
        forwardPerMille = [0, 500, 900].randomElement(using: &random)!
        readPerMille = [0, 100, 400].randomElement(using: &random)!
    }

    var description: String {
        "voters=\(initialVoters) loss=\(lossPerMille)‰ dup=\(duplicatePerMille)‰ delay≤\(delayTicksMax) "
            + "partition=\(partitionPerMille)‰ crash=\(crashPerMille)‰ crash-in-ready=\(crashInReadyPerMille)‰ "
            + "membership=\(membershipPerMille)‰ transfer=\(transferPerMille)‰ compact=\(compactEveryEntries) "
            + "long-delay=\(longDelayPerMille)‰ pause=\(pausePerMille)‰ power-loss=\(powerLossPerMille)‰ "
            + "wipe=\(wipePerMille)‰ skew=±\(tickSkewPerMille)‰ forward=\(forwardPerMille)‰ read=\(readPerMille)‰"
    }
}
