import BinaryCoding
import Logging
import Transport

extension MessageType {
    /// "Do you know me?": asked by a node with no Raft state before it bootstraps from
    /// `peer.peers`, answered with a `ProbeAnswer`.
    static let bootstrapProbe = MessageType(0x0410)
    static let bootstrapProbeAnswer = MessageType(0x0411)
}

/// What a peer knows of the node that probes it.
struct ProbeAnswer: Equatable, Sendable {
    /// The peer runs a cluster already (it has Raft state).
    var hasState: Bool
    /// The asker is a voter or learner of that cluster.
    var askerIsMember = false
    /// The incarnation that cluster recorded for the asker: it ran as a member before.
    var recorded: Incarnation?
    /// The peer leads, and the asker acknowledged entries to it: it ran before (even if
    /// no incarnation was recorded, as in a cluster of an earlier version).
    var askerAcknowledged = false

    static let fresh = ProbeAnswer(hasState: false)

    func encode() -> [UInt8] {
        var bytes: [UInt8] = [1, (hasState ? 1 : 0) | (askerIsMember ? 2 : 0) | (recorded != nil ? 4 : 0) | (askerAcknowledged ? 8 : 0)]
        if let recorded { bytes += recorded.bytes }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> ProbeAnswer? {
        var reader = ByteReader(bytes)
        guard reader.readByte() == 1, let flags = reader.readByte(), flags < 16 else { return nil }
        var answer = ProbeAnswer(hasState: flags & 1 != 0, askerIsMember: flags & 2 != 0, askerAcknowledged: flags & 8 != 0)
        if flags & 4 != 0 {
            guard let bytes = reader.readBytes(Incarnation.byteCount), let recorded = Incarnation(bytes: bytes) else { return nil }
            answer.recorded = recorded
        }
        return reader.isAtEnd ? answer : nil
    }
}

/// The check a node with no Raft state makes before it bootstraps a cluster from the
/// static `peer.peers` (etcd's "member has already been bootstrapped"): it asks every
/// peer whether they run a cluster already, until a quorum of the static voters has
/// answered and then for at most `window` more. It refuses to start when a peer runs one
/// and has this node's id either not as a member or as a member that ran before (an
/// incarnation is recorded for it, or it acknowledged entries to the leader): such a node
/// lost its disk, and voting as that member without its log and votes could undo
/// committed entries. A peer still silent after a quorum answered is taken as not started
/// yet; the incarnation check of a running node (`IncarnationGuard`) stops the node later
/// if that guess was wrong.
struct BootstrapProbe {
    let transport: PeerTransport
    let nodeID: UInt64
    let peers: [UInt64: String]
    let logger: Logger
    /// `cluster.bootstrap_probe_ms`: how long to wait for the other peers once a quorum answered.
    let window: Duration
    /// How long one probe may wait for its answer.
    static let probeTimeout = Duration.milliseconds(500)
    /// The pause between two rounds of probes to the peers that have not answered.
    static let roundPause = Duration.milliseconds(200)
    /// How often a node still short of a quorum says whom it waits for.
    static let reportInterval = Duration.seconds(5)

    enum Refusal: Error, CustomStringConvertible {
        case notMember(node: UInt64, peer: UInt64)
        case ranBefore(node: UInt64, peer: UInt64, recorded: Incarnation?)

        var description: String {
            switch self {
            case let .notMember(node, peer):
                "node \(peer) already runs a cluster, and node \(node) is not a member of it: --bootstrap forms a new cluster only on "
                    + "the first start of all its members. Start this node with --join URL (any member's HTTP address) instead"
            case let .ranBefore(node, peer, recorded):
                "node \(peer) knows node \(node) as a member that ran before"
                    + (recorded.map { " from another data directory (incarnation \($0))" } ?? " (it acknowledged entries)") + ", but this "
                    + "node has no Raft state: its disk was wiped or replaced, and it must not vote as the member it was. "
                    + "Run `clusterctl remove \(node)` against a running node, then start this node with --join URL: it rejoins as a "
                    + "learner and is promoted once caught up"
            }
        }
    }

    /// The verdict on one peer's answer.
    static func verdict(_ answer: ProbeAnswer, node: UInt64, peer: UInt64) -> Refusal? {
        guard answer.hasState else { return nil }
        guard answer.askerIsMember else { return .notMember(node: node, peer: peer) }
        if answer.recorded != nil || answer.askerAcknowledged { return .ranBefore(node: node, peer: peer, recorded: answer.recorded) }
        return nil
    }

    /// Returns when bootstrapping is safe as far as the peers can tell; throws `Refusal`.
    func run() async throws {
        let others = Set(peers.keys).subtracting([nodeID])
        guard !others.isEmpty else { return }
        try await transport.setPeers(Dictionary(uniqueKeysWithValues: peers.map { (PeerID($0.key), $0.value) }))
        let answering = Task { await answerAsFresh() }
        var refusal: (any Error)?
        do { try await probeUntilAnswered(others) } catch { refusal = error }
        // The inbox has one reader: this one is gone before the message router starts.
        answering.cancel()
        await answering.value
        if let refusal { throw refusal }
    }

    /// Probes until every peer answered, or a quorum of the static voters (this node
    /// included) did and `window` has passed: silence is never taken as a go-ahead by
    /// itself, since a quorum is what a new cluster needs to elect a leader anyway.
    private func probeUntilAnswered(_ others: Set<UInt64>) async throws {
        let quorum = (others.count + 1) / 2 + 1
        let started = ContinuousClock.now
        var heard: Set<UInt64> = [], reported = started
        while heard.count < others.count {
            for (peer, answer) in await probe(others.subtracting(heard)) {
                heard.insert(peer)
                if let refusal = Self.verdict(answer, node: nodeID, peer: peer) { throw refusal }
            }
            let now = ContinuousClock.now
            if heard.count + 1 >= quorum && now - started >= window { break }
            guard heard.count < others.count else { break }
            if heard.count + 1 < quorum && now - reported >= Self.reportInterval {
                reported = now
                logger.notice("waiting for a quorum of peer.peers to answer before bootstrapping", metadata: [
                    "answered": "\(heard.sorted())", "silent": "\(others.subtracting(heard).sorted())",
                ])
            }
            try await Task.sleep(for: Self.roundPause)
        }
        logger.info("bootstrap probe done", metadata: [
            "answered": "\(heard.sorted())", "silent": "\(others.subtracting(heard).sorted())",
        ])
    }

    private func probe(_ peers: Set<UInt64>) async -> [(UInt64, ProbeAnswer)] {
        await withTaskGroup(of: (UInt64, ProbeAnswer)?.self) { group in
            for peer in peers {
                group.addTask {
                    guard let reply = try? await transport.request(.bootstrapProbe, [], to: PeerID(peer), timeout: Self.probeTimeout),
                          let answer = ProbeAnswer.decode(reply.payload) else { return nil }
                    return (peer, answer)
                }
            }
            var answers: [(UInt64, ProbeAnswer)] = []
            for await answer in group { if let answer { answers.append(answer) } }
            return answers
        }
    }

    /// While this node waits, its peers may be probing it too: it has no state to report.
    /// Other messages are dropped (Raft and gossip resend what matters).
    private func answerAsFresh() async {
        while !Task.isCancelled {
            let batch = await transport.nextBatch()
            if batch.isEmpty { return }
            for envelope in batch where envelope.type == .bootstrapProbe && envelope.expectsReply {
                _ = transport.reply(to: envelope, .bootstrapProbeAnswer, ProbeAnswer.fresh.encode())
            }
        }
    }
}
