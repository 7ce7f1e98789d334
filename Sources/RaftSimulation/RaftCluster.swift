import Consensus

/// A group of Raft nodes wired through an in-memory network, driven step by step. Each
/// node's `MemoryStorage` is its durable state; `Ready`s are handled in the order the
/// contract requires (persist, send, apply, advance). Deterministic: the same calls give
/// the same run.
public final class RaftCluster {
    /// One simulated node.
    public struct Node {
        public var raw: RawNode
        public let storage: MemoryStorage
        public var applied = AppliedLog()
        public var membership: ConfigurationState
        /// Read states delivered in readies, in order.
        public var readStates: [ReadState] = []
    }

    public private(set) var nodes: [NodeID: Node] = [:]
    /// Messages sent and not yet delivered, in send order.
    public var inFlight: [Message] = []
    /// Returns false for messages the network loses.
    public var deliverable: (Message) -> Bool = { _ in true }
    /// Receives a line for every message delivered or dropped and every role change, for
    /// scripted tests.
    public var trace: ((String) -> Void)?
    private let configure: (inout RaftConfiguration) -> Void
    private let seed: UInt64

    /// A group whose voters are `voters`, all fresh.
    public init(voters: [NodeID], seed: UInt64 = 1, configure: @escaping (inout RaftConfiguration) -> Void = { _ in }) {
        self.seed = seed
        self.configure = configure
        let membership = ConfigurationState(voters: voters)
        for id in voters { addNode(id, storage: MemoryStorage(bootstrap: membership), membership: membership) }
    }

    /// Adds a joining node with an empty log that starts from `membership` (what a real
    /// join is told by the node it contacts); the leader then sends it the log or a snapshot.
    public func addJoiningNode(_ id: NodeID, membership: ConfigurationState) {
        addNode(id, storage: MemoryStorage(bootstrap: membership), membership: membership)
    }

    private func addNode(_ id: NodeID, storage: MemoryStorage, membership: ConfigurationState, applied: UInt64 = 0) {
        var configuration = RaftConfiguration(id: id, randomSeed: seed &+ id)
        configuration.applied = applied
        configure(&configuration)
        let raw = try! RawNode(configuration: configuration, storage: storage)
        nodes[id] = Node(raw: raw, storage: storage, membership: membership)
    }

    /// Restarts `id` from its durable storage, losing its volatile state.
    public func restart(_ id: NodeID) {
        let old = nodes[id]!
        let applied = old.storage.currentSnapshot.metadata.index
        addNode(id, storage: old.storage, membership: old.storage.currentSnapshot.metadata.configuration, applied: applied)
        nodes[id]!.applied = AppliedLog.decode(old.storage.currentSnapshot.data)
        // Replay is the application's job: entries after the snapshot are re-applied as
        // they come back in `committedEntries`.
    }

    /// Removes `id` from the simulation (a crash with no restart, or a removed node).
    public func stop(_ id: NodeID) { nodes[id] = nil }

    public func tick(_ id: NodeID) { nodes[id]?.raw.tick() }

    public func tickAll() {
        for id in nodes.keys.sorted() { tick(id) }
    }

    /// Handles every pending `Ready` of `id`; returns whether there was one.
    @discardableResult
    public func processReady(_ id: NodeID) -> Bool {
        guard var node = nodes[id], node.raw.hasReady else { return false }
        let ready = node.raw.ready()
        if let snapshot = ready.snapshot {
            try! node.storage.applySnapshot(snapshot)
            node.applied = AppliedLog.decode(snapshot.data)
            node.membership = snapshot.metadata.configuration
        }
        try! node.storage.append(ready.entries)
        if let hardState = ready.hardState { node.storage.setHardState(hardState) }
        if let soft = ready.softState {
            trace?("\(id) is \(soft.role) term=\(node.raw.hardState.term) leader=\(soft.leader)")
        }
        inFlight += ready.messages
        node.readStates += ready.readStates
        for entry in ready.committedEntries {
            if entry.kind == .configurationChange, let change = ConfigurationChangeCodec.decode(entry.data) {
                node.membership = node.raw.applyConfigurationChange(change)
            }
            node.applied.apply(entry)
        }
        node.raw.advance(ready)
        nodes[id] = node
        return true
    }

    /// Delivers every message in flight (dropping the undeliverable and those for stopped
    /// nodes); returns how many were delivered.
    @discardableResult
    public func deliverAll() -> Int {
        let batch = inFlight
        inFlight = []
        var delivered = 0
        for message in batch {
            guard deliverable(message), nodes[message.to] != nil else {
                trace?("dropped \(message)")
                continue
            }
            trace?(message.description)
            nodes[message.to]!.raw.step(message)
            delivered += 1
        }
        return delivered
    }

    /// Processes readies and delivers messages until nothing moves (or `roundsMax`).
    public func stabilize(roundsMax: Int = 1000) {
        for _ in 0..<roundsMax {
            var moved = false
            for id in nodes.keys.sorted() where processReady(id) { moved = true }
            if deliverAll() > 0 { moved = true }
            if !moved { return }
        }
    }

    /// Ticks every node and stabilizes, `count` times.
    public func advance(ticks count: Int) {
        for _ in 0..<count {
            tickAll()
            stabilize()
        }
    }

    /// Calls an election on `id` and stabilizes.
    public func campaign(_ id: NodeID) {
        nodes[id]!.raw.campaign()
        stabilize()
    }

    /// Proposes on `id` and stabilizes.
    public func propose(_ data: [UInt8], on id: NodeID) throws {
        try nodes[id]!.raw.propose(data)
        stabilize()
    }

    /// The leader of the highest term among live nodes, if exactly one node claims it.
    public var leader: NodeID? {
        let leaders = nodes.values.filter { $0.raw.status.softState.role == .leader }
        guard let top = leaders.max(by: { $0.raw.status.hardState.term < $1.raw.status.hardState.term }) else { return nil }
        return top.raw.status.id
    }

    public func status(_ id: NodeID) -> RaftStatus { nodes[id]!.raw.status }

    /// Mutable access to a node's RawNode for operations the cluster does not wrap.
    public func withNode<T>(_ id: NodeID, _ body: (inout RawNode) throws -> T) rethrows -> T {
        try body(&nodes[id]!.raw)
    }

    /// Cuts every link between the two sets of nodes (both directions).
    public func partition(_ side: Set<NodeID>) {
        deliverable = { side.contains($0.from) == side.contains($0.to) }
    }

    /// Restores every link.
    public func heal() { deliverable = { _ in true } }
}
