import Consensus
import Logging
import Metrics
import Storage
import Transport

/// Drives one `RawNode` over RocksDB and the peer transport: ticks on a real clock, steps
/// received messages, and handles every `Ready` in the order Raft requires — persist (one
/// synced batch), send, apply, advance. Runs on a thread of its own.
public actor RaftDriver {
    private let executor: DedicatedThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let configuration: RaftDriverConfiguration
    var node: RawNode
    let store: RaftLogStore
    let transport: PeerTransport
    let machine: any ReplicatedStateMachine
    let logger: Logger
    /// Peer addresses of the members, from configuration-change contexts and snapshots.
    var addresses: [UInt64: String]
    private var addressesChanged = false
    var appliedIndex: UInt64
    private var entriesSinceSnapshot = 0
    /// A periodic snapshot is being encoded off this thread.
    private var snapshotEncoding = false
    var waiters: [UInt64: Waiter] = [:]
    /// Linearizable reads waiting for their read index, by request context.
    var readWaiters: [UInt64: ReadWaiter] = [:]
    /// The last read-index context used. A context is this node's id and this counter, and
    /// the counter starts anywhere: the leader keys pending reads by context, so two nodes
    /// must never send the same one, nor a restarted node one a late answer still carries.
    var nextReadContext = UInt64.random(in: 0...(UInt64.max >> 1))
    /// Applied by the leader to every data proposal before it enters the log (the policy
    /// entries get the leader's clock here).
    let stampProposal: @Sendable ([UInt8]) -> [UInt8]
    var ticks = 0
    private let onLeaderChange: @Sendable (UInt64) -> Void
    private let onMembershipChange: @Sendable (Bool) -> Void
    private let onVotersChange: @Sendable ([UInt64]) -> Void
    private let gauges: RaftGauges
    /// Inputs (messages, proposals, ticks) only signal here; one ready-pass then handles
    /// everything that arrived meanwhile, so many entries share one synced write (group
    /// commit). Buffering the newest one signal coalesces a burst into one pass.
    private let readySignals: AsyncStream<Void>
    private let readySignal: AsyncStream<Void>.Continuation
    /// Streams snapshots larger than one frame to followers (the leader's side).
    let snapshotSender: SnapshotSender
    /// The snapshot stream being received from a leader (the follower's side).
    var snapshotAssembly: SnapshotAssembly
    /// A streamed snapshot is being decoded and checked off this thread.
    var checkingStreamedSnapshot = false

    enum Waiter {
        case local(term: UInt64, deadline: Int, continuation: CheckedContinuation<UInt64, any Error>)
        case remote(term: UInt64, deadline: Int, request: Envelope)
    }

    /// Loads the node's Raft state from `database` and restores `machine` from the latest
    /// snapshot. The database must hold a membership (bootstrap or join first).
    public init(
        configuration: RaftDriverConfiguration, database: Database, transport: PeerTransport,
        machine: any ReplicatedStateMachine, logger: Logger,
        onLeaderChange: @escaping @Sendable (UInt64) -> Void = { _ in },
        onMembershipChange: @escaping @Sendable (Bool) -> Void = { _ in },
        onVotersChange: @escaping @Sendable ([UInt64]) -> Void = { _ in },
        stampProposal: @escaping @Sendable ([UInt8]) -> [UInt8] = { $0 }
    ) throws {
        self.stampProposal = stampProposal
        executor = DedicatedThreadExecutor(name: "weir-raft-\(configuration.nodeID)")
        self.configuration = configuration
        self.transport = transport
        self.machine = machine
        self.logger = logger
        self.onLeaderChange = onLeaderChange
        self.onMembershipChange = onMembershipChange
        self.onVotersChange = onVotersChange
        gauges = RaftGauges(nodeID: configuration.nodeID)
        (readySignals, readySignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        snapshotSender = SnapshotSender(
            transport: transport, chunkBytes: configuration.snapshotChunkBytes,
            chunkTimeout: .milliseconds(configuration.snapshotChunkTimeoutMilliseconds), logger: logger)
        snapshotAssembly = SnapshotAssembly(
            bytesMax: configuration.snapshotBytesMax, idleMax: .milliseconds(2 * configuration.snapshotChunkTimeoutMilliseconds))
        store = try RaftLogStore(database: database)
        let snapshot = try store.snapshot()
        guard let contents = DriverSnapshot.decode(snapshot.data) else { throw RaftLogStore.Failure.corrupt("snapshot data") }
        try machine.restore(from: contents.machine, at: snapshot.metadata.index)
        addresses = contents.addresses
        appliedIndex = snapshot.metadata.index
        node = try RawNode(configuration: configuration.raftConfiguration(applied: appliedIndex), storage: store)
        machine.membersApplied(node.status.configuration.members.sorted())
    }

    deinit { executor.stop() }

    /// Whether the node has no Raft state yet (it must be bootstrapped or join).
    public static func needsBootstrap(_ database: Database) throws -> Bool {
        try RaftLogStore(database: database).isEmpty
    }

    /// Records the first membership of a new group (or the one a joining node was given),
    /// with each member's peer address.
    public static func bootstrap(_ database: Database, voters: [UInt64], learners: [UInt64] = [], addresses: [UInt64: String]) throws {
        let store = try RaftLogStore(database: database)
        try store.bootstrap(
            ConfigurationState(voters: voters, learners: learners),
            data: DriverSnapshot(addresses: addresses, machine: []).encode())
    }

    /// Runs until cancelled: a tick loop on the real clock. Messages arrive through
    /// `receive(_:)`, from the node's `PeerMessageRouter`.
    public func run() async {
        addressesChanged = true
        await publishAddresses()
        onVotersChange(node.status.configuration.voters.sorted())
        if node.status.configuration.voters == [configuration.nodeID] {
            node.campaign()  // a group of one needs no election timeout
            processReady()
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.readySignals {
                    await self.processReady()
                    await self.publishAddresses()
                }
            }
            group.addTask {
                let interval = Duration.milliseconds(self.configuration.tickMilliseconds)
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    await self.tick()
                }
            }
            await group.next()
            group.cancelAll()
        }
        snapshotSender.cancelAll()
        failAllWaiters(.noLeader)
        failAllReads(.noLeader)
    }

    func tick() {
        ticks += 1
        node.tick()
        expireWaiters()
        expireReads()
        snapshotAssembly.expire(now: .now)
        promoteCaughtUpLearners()
        readySignal.yield()
    }

    /// Asks for a ready-pass after the inputs already queued on this actor.
    func requestReady() { readySignal.yield() }

    /// The message types the driver handles, for the router.
    public static let messageTypes: Set<MessageType> = [.raft, .forwardedProposal, .snapshotChunk]

    /// Steps a batch of received messages; a burst that arrived during a synced write is
    /// stepped at once and persisted with the next one.
    public func receive(_ batch: [Envelope]) {
        for envelope in batch { receive(envelope) }
        readySignal.yield()
    }

    private func receive(_ envelope: Envelope) {
        switch envelope.type {
        case .raft:
            guard let message = MessageCodec.decodeMessage(envelope.payload), message.to == configuration.nodeID,
                  message.from == envelope.sender.rawValue
            else {
                logger.warning("dropped an undecodable or misaddressed Raft message", metadata: ["from": "\(envelope.sender)"])
                return
            }
            // A snapshot is checked whole before Raft accepts it: once accepted it must be
            // installed, and one that cannot be would stop this node for good.
            if let snapshot = message.snapshot, !Self.installable(snapshot, machine: machine) {
                logger.error("refused a snapshot this node cannot read", metadata: ["from": "\(envelope.sender)", "index": "\(snapshot.metadata.index)"])
                return
            }
            node.step(message)
            if message.snapshot != nil {
                // Install it now, from the parse the check kept, then let that parse go.
                processReady()
                machine.forgetCheckedSnapshot()
            }
        case .forwardedProposal:
            handleForwardedProposal(envelope)
        case .snapshotChunk:
            receiveSnapshotChunk(envelope)
        default:
            logger.debug("dropped a message of unknown type", metadata: ["type": "\(envelope.type)"])
        }
    }

    /// Handles every pending `Ready`: persist, send, apply, advance.
    func processReady() {
        while node.hasReady {
            let ready = node.ready()
            do {
                try store.persist(ready)
            } catch {
                // Without durable state Raft cannot promise anything: stop rather than lie.
                FailStop.diskFailed("persisting Raft state", error, logger: logger)
            }
            if let snapshot = ready.snapshot { restore(snapshot) }
            for message in ready.messages { send(message) }
            for entry in ready.committedEntries { apply(entry) }
            for state in ready.readStates { resolveRead(state) }
            node.advance(ready)
            if let soft = ready.softState {
                logger.info("raft role changed", metadata: ["role": "\(soft.role)", "leader": "\(soft.leader)", "term": "\(node.hardState.term)"])
                onLeaderChange(soft.leader)
                if soft.role != .leader { snapshotSender.cancelAll() }
            }
            gauges.record(node.hardState, soft: node.softState, applied: appliedIndex)
        }
        maybeSnapshot()
    }

    private func send(_ message: Message) {
        let encoded = MessageCodec.encode(message)
        if message.kind == .snapshot && encoded.count > configuration.snapshotChunkBytes {
            return streamSnapshot(encoded, at: message.snapshot?.metadata.index ?? 0, to: message.to)
        }
        let outcome = transport.send(.raft, encoded, to: PeerID(message.to))
        if message.kind == .snapshot { node.reportSnapshot(to: message.to, failed: outcome != .queued) }
        if case .dropped(.unknownPeer) = outcome { node.reportUnreachable(message.to) }
    }

    /// Whether a snapshot's bytes decode and its state machine part would restore.
    static func installable(_ snapshot: Snapshot, machine: any ReplicatedStateMachine) -> Bool {
        guard let contents = DriverSnapshot.decode(snapshot.data) else { return false }
        return machine.canRestore(from: contents.machine)
    }

    private func restore(_ snapshot: Snapshot) {
        // Unreachable from a peer: `receive` steps only snapshots that `installable` accepts,
        // and this node's own snapshots are written by the same code that reads them here.
        // Reaching it means the disk changed the bytes under RocksDB's checksums.
        guard let contents = DriverSnapshot.decode(snapshot.data) else {
            fatalError("weir: the snapshot at index \(snapshot.metadata.index) is unreadable (checked when it arrived)")
        }
        do {
            try machine.restore(from: contents.machine, at: snapshot.metadata.index)
        } catch {
            fatalError("weir: cannot restore the state machine from snapshot \(snapshot.metadata.index), checked when it arrived: \(error)")
        }
        addresses = contents.addresses
        addressesChanged = true
        appliedIndex = snapshot.metadata.index
        machine.membersApplied(snapshot.metadata.configuration.members.sorted())
        onVotersChange(snapshot.metadata.configuration.voters.sorted())
        logger.info("installed snapshot", metadata: ["index": "\(snapshot.metadata.index)"])
        HeapTrim.soon()  // the replaced state and the snapshot's parse
    }

    private func apply(_ entry: Entry) {
        precondition(entry.index == appliedIndex + 1, "applying \(entry.index) after \(appliedIndex)")
        switch entry.kind {
        case .normal:
            if entry.data.isEmpty { machine.appliedNothing(at: entry.index) } else { machine.apply(entry.data, at: entry.index) }
        case .configurationChange:
            guard let change = ConfigurationChangeCodec.decode(entry.data) else {
                fatalError("weir: unreadable configuration change at index \(entry.index)")
            }
            node.applyConfigurationChange(change)
            switch change.kind {
            case .addVoter, .addLearner:
                if !change.context.isEmpty { addresses[change.node] = String(decoding: change.context, as: UTF8.self) }
            case .remove:
                addresses[change.node] = nil
                snapshotSender.cancel(change.node)
                machine.memberRemoved(change.node, at: entry.index)
            }
            addressesChanged = true
            machine.membersApplied(node.status.configuration.members.sorted())
            logger.info("membership changed", metadata: ["change": "\(change.kind)", "node": "\(change.node)"])
            onMembershipChange(node.status.configuration.members.contains(configuration.nodeID))
            onVotersChange(node.status.configuration.voters.sorted())
            machine.appliedNothing(at: entry.index)
        }
        appliedIndex = entry.index
        entriesSinceSnapshot += 1
        resolveWaiter(at: entry.index, term: entry.term)
    }

    /// Takes a snapshot of what is applied now (and compacts the log behind it), unless the
    /// latest one already covers it; returns the snapshot's index.
    public func snapshotNow() -> UInt64 {
        maybeSnapshot(force: true)
        return store.snapshotMetadata.index
    }

    /// A periodic snapshot captures the state on this thread (cheap: the policy is a
    /// copy-on-write value) and encodes it on another, so a large policy's JSON and
    /// compression never hold up heartbeats or appends; one is under way at a time. A
    /// forced one (`snapshotNow`) is taken here and now.
    private func maybeSnapshot(force: Bool = false) {
        guard force || entriesSinceSnapshot >= configuration.snapshotEveryEntries,
              appliedIndex > store.snapshotMetadata.index else { return }
        let index = appliedIndex, membership = node.status.configuration, addresses = self.addresses
        if force {
            saveSnapshot(DriverSnapshot(addresses: addresses, machine: machine.snapshot()).encode(), at: index, configuration: membership)
            return HeapTrim.soon()
        }
        guard !snapshotEncoding else { return }
        snapshotEncoding = true
        entriesSinceSnapshot = 0
        let encode = machine.snapshotEncoder()
        Task.detached { [weak self] in
            do {
                let data = DriverSnapshot(addresses: addresses, machine: encode()).encode()
                await self?.encodedSnapshot(data, at: index, configuration: membership)
            }
            HeapTrim.soon()  // the encoding's buffers, and what the entries since the last one freed
        }
    }

    private func encodedSnapshot(_ data: [UInt8], at index: UInt64, configuration membership: ConfigurationState) {
        snapshotEncoding = false
        saveSnapshot(data, at: index, configuration: membership)
    }

    /// Saves a snapshot of the state at `index` and compacts the log behind it, unless a
    /// newer one (taken, or installed from the leader meanwhile) is already saved.
    private func saveSnapshot(_ data: [UInt8], at index: UInt64, configuration membership: ConfigurationState) {
        guard index > store.snapshotMetadata.index else { return }
        do {
            try store.saveSnapshot(at: index, configuration: membership, data: data)
            let margin = UInt64(configuration.compactionMarginEntries)
            var through = index > margin ? index - margin : 0
            if let streaming = snapshotSender.lowestIndexUnderWay { through = min(through, streaming) }
            if through > 0 { try store.compact(through: through) }
            entriesSinceSnapshot = Int(appliedIndex - index)
            logger.info("snapshot taken", metadata: ["index": "\(index)", "bytes": "\(data.count)"])
        } catch {
            logger.error("snapshot failed; will retry", metadata: ["error": "\(error)"])
        }
    }

    private func peerAddresses() -> [PeerID: String] {
        Dictionary(uniqueKeysWithValues: addresses.filter { $0.key != configuration.nodeID && $0.key != 0 }.map { (PeerID($0.key), $0.value) })
    }

    /// Tells the transport about membership changes, outside any Ready cycle.
    private func publishAddresses() async {
        guard addressesChanged else { return }
        addressesChanged = false
        do {
            try await transport.setPeers(peerAddresses())
        } catch {
            logger.error("a member's peer address is invalid", metadata: ["error": "\(error)"])
        }
    }

    /// The node's Raft status.
    public var status: RaftStatus { node.status }

    /// The index of the latest snapshot this node holds (taken or installed).
    public var snapshotIndex: UInt64 { store.snapshotMetadata.index }

    /// The addresses of the members, by node id.
    public var memberAddresses: [UInt64: String] { addresses }
}

/// Raft's state as Prometheus gauges.
struct RaftGauges {
    let term: Gauge
    let commit: Gauge
    let applied: Gauge
    let isLeader: Gauge

    init(nodeID: UInt64) {
        let dimensions = [("node", "\(nodeID)")]
        term = Gauge(label: "weir_raft_term", dimensions: dimensions)
        commit = Gauge(label: "weir_raft_commit_index", dimensions: dimensions)
        applied = Gauge(label: "weir_raft_applied_index", dimensions: dimensions)
        isLeader = Gauge(label: "weir_raft_is_leader", dimensions: dimensions)
    }

    func record(_ hard: HardState, soft: SoftState, applied index: UInt64) {
        term.record(Double(hard.term))
        commit.record(Double(hard.commit))
        applied.record(Double(index))
        isLeader.record(soft.role == .leader ? 1 : 0)
    }
}
