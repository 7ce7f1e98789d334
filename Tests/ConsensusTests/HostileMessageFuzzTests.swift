import Foundation
import SeededRandom
import Testing
@testable import Consensus
import RaftSimulation

/// Seeded fuzzing of the two ways a peer's message enters Raft: the wire decoder, and
/// `RawNode.step` on a live group. `WEIR_FUZZ_SEED=n` replays or widens a run; a failure
/// names the seed and round.
@Suite struct HostileMessageFuzzTests {
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["WEIR_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20261202
    }

    /// Valid encodings with bytes flipped, overwritten, cut or duplicated decode to nil or
    /// to a message that round-trips; the decoder never traps.
    @Test func mutatedWireBytesNeverTrapTheDecoder() {
        let seed = Self.seed
        var random = SplitMix64(seed: seed)
        for round in 0..<20_000 {
            var bytes = MessageCodec.encode(wellFormedMessage(&random))
            for _ in 0..<Int.random(in: 1...4, using: &random) { mutate(&bytes, &random) }
            guard let decoded = MessageCodec.decodeMessage(bytes) else { continue }
            guard MessageCodec.decodeMessage(MessageCodec.encode(decoded)) == decoded else {
                Issue.record("seed \(seed) round \(round): \(decoded) does not round-trip")
                return
            }
        }
    }

    /// Random bytes of random lengths never trap the decoder either.
    @Test func randomBytesNeverTrapTheDecoder() {
        let seed = Self.seed
        var random = SplitMix64(seed: seed ^ 0x5EED)
        for _ in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...160, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) && bytes.count > 1 { bytes[0] = MessageCodec.version }
            _ = MessageCodec.decodeMessage(bytes)
            _ = MessageCodec.decodeEntry(bytes)
            _ = MessageCodec.decodeHardState(bytes)
            _ = MessageCodec.decodeSnapshotMetadata(bytes)
        }
    }

    /// A group that keeps electing and committing while a peer sends it messages shaped
    /// like a correct node's but with numbers at the edges (the current term ± 1, the
    /// limits; indexes around each node's log and commit), a quarter of them with one
    /// field broken (term 0 or past the limit, gaps, huge indexes). No node traps and
    /// every node keeps its bounds.
    /// Safety is not checked: a peer with the secret may lie, and Raft cannot stop that.
    @Test func hostileMessagesNeverTrapALiveGroup() {
        let seed = Self.seed
        var random = SplitMix64(seed: seed)
        for run in 0..<6 {
            let preVote = Bool.random(using: &random)
            let checkQuorum = Bool.random(using: &random)
            let cluster = RaftCluster(voters: [1, 2, 3], seed: random.next()) {
                $0.preVote = preVote
                $0.checkQuorum = checkQuorum
            }
            for round in 0..<400 {
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<3:
                    cluster.advance(ticks: 1)
                case 3..<5:
                    if let leader = cluster.leader { _ = try? cluster.propose([UInt8(truncatingIfNeeded: round)], on: leader) }
                default:
                    let to = NodeID.random(in: 1...3, using: &random)
                    var from = NodeID.random(in: 1...4, using: &random)  // 4 is not a member
                    if from == to { from = 4 }
                    let message = edgeMessage(&random, from: from, to: to, node: cluster.nodes[to]!.raw)
                    _ = MessageCodec.decodeMessage(MessageCodec.encode(message))
                    cluster.withNode(to) { $0.step(message) }
                    cluster.stabilize()
                }
                for problem in boundProblems(cluster) {
                    Issue.record("seed \(seed) run \(run) round \(round): \(problem)")
                    return
                }
            }
        }
    }

    // MARK: Generators

    private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let at = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
        case 1: bytes[at] = [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
        case 2: bytes.removeSubrange(at...)
        case 3: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 8)], at: at)
        default: bytes.replaceSubrange(at..<min(bytes.count, at + 8), with: Array(repeating: 0xFF, count: min(8, bytes.count - at)))
        }
    }

    /// A message of a random kind shaped as a correct node would send it, with numbers at
    /// the edges of `node`'s state; one in four then has one field broken.
    private func edgeMessage(_ random: inout SplitMix64, from: NodeID, to: NodeID, node: RawNode) -> Message {
        let status = node.status
        let last = status.lastIndex
        let commit = status.hardState.commit
        func near(_ values: [UInt64], _ random: inout SplitMix64) -> UInt64 { values.randomElement(using: &random)! }
        let kind = Message.Kind.allCases.randomElement(using: &random)!
        let current = status.hardState.term
        let term = kind.isTermLess ? 0 : near([max(current, 2) - 1, current, current, current, current + 1, termMax], &random)
        var message = Message(kind: kind, from: from, to: to, term: max(term, kind.isTermLess ? 0 : 1))
        let indexes = [0, commit, max(last, 1) - 1, last, last, last + 1, last + 3]
        message.index = near(indexes, &random)
        message.logTerm = min(message.term, near([0, node.term(at: message.index) ?? 1, message.term], &random))
        message.commit = near(indexes + [indexMax], &random)
        message.rejectHint = near(indexes + [indexMax], &random)
        message.reject = Bool.random(using: &random)
        if Bool.random(using: &random) { message.context = [UInt8.random(in: 0...3, using: &random)] }
        if kind == .append {
            var entryTerm = max(message.logTerm, 1)
            for offset in 0..<UInt64.random(in: 0...4, using: &random) {
                entryTerm = UInt64.random(in: entryTerm...max(entryTerm, message.term), using: &random)
                message.entries.append(Entry(term: entryTerm, index: message.index + 1 + offset, data: [0xEE]))
            }
        }
        if kind == .snapshot {
            let voters = [[1, 2, 3], [1, 2], [to], [from, to]].randomElement(using: &random)!
            let index = near([commit, commit + 1, last, last + 5, indexMax], &random)
            message.snapshot = Snapshot(metadata: SnapshotMetadata(
                index: index, term: index == 0 ? 0 : UInt64.random(in: 1...message.term, using: &random),
                configuration: ConfigurationState(voters: Array(Set(voters)))))
        }
        if Int.random(in: 0..<4, using: &random) == 0 { breakOneField(&message, &random) }
        return message
    }

    /// The faults of findings D2–D7, one at a time.
    private func breakOneField(_ message: inout Message, _ random: inout SplitMix64) {
        let huge: [UInt64] = [termMax + 1, .max]
        switch Int.random(in: 0..<9, using: &random) {
        case 0: message.term = [0, termMax + 1, .max].randomElement(using: &random)!
        case 1: message.logTerm = message.term + 1
        case 2: message.index = huge.randomElement(using: &random)!
        case 3: message.commit = huge.randomElement(using: &random)!
        case 4: message.rejectHint = huge.randomElement(using: &random)!
        case 5:  // a gap, a repeat, or an entry at or before `index`
            let index = [message.index &+ 3, message.index, message.index &- 1, .max].randomElement(using: &random)!
            message.entries.append(Entry(term: message.term, index: index))
        case 6: message.entries.append(Entry(term: [0, message.term + 1].randomElement(using: &random)!, index: message.index + 1 + UInt64(message.entries.count)))
        case 7:
            var snapshot = message.snapshot ?? Snapshot()
            snapshot.metadata.index = huge.randomElement(using: &random)!
            message.snapshot = snapshot
        default: message.kind = Message.Kind.allCases.randomElement(using: &random)!  // fields of another kind
        }
    }

    private func boundProblems(_ cluster: RaftCluster) -> [String] {
        cluster.nodes.keys.sorted().compactMap { id in
            let status = cluster.status(id)
            if status.hardState.term > termMax { return "node \(id) adopted term \(status.hardState.term)" }
            if status.hardState.commit > status.lastIndex { return "node \(id) committed \(status.hardState.commit) past \(status.lastIndex)" }
            if status.applied > status.hardState.commit { return "node \(id) applied past its commit" }
            if status.lastIndex > indexMax { return "node \(id) has last index \(status.lastIndex)" }
            for (peer, progress) in status.progress where progress.match > status.lastIndex {
                return "leader \(id) holds match \(progress.match) for \(peer) past its last index \(status.lastIndex)"
            }
            return nil
        }
    }
}

/// A random message the decoder must accept: numbers within the limits, term 0 exactly
/// on the term-less kinds, entries contiguous after `index` with rising terms, a snapshot
/// only (and always) on `.snapshot`.
func wellFormedMessage(_ random: inout SplitMix64) -> Message {
    let kind = Message.Kind.allCases.randomElement(using: &random)!
    let termLess = kind == .readIndex || kind == .transferLeader
    let term = termLess ? 0 : UInt64.random(in: 1...termMax, using: &random)
    var message = Message(kind: kind, from: UInt64.random(in: 1...9, using: &random), to: UInt64.random(in: 1...9, using: &random), term: term)
    message.logTerm = UInt64.random(in: 0...term, using: &random)
    message.index = UInt64.random(in: 0...(indexMax - 8), using: &random)
    message.commit = UInt64.random(in: 0...indexMax, using: &random)
    message.reject = Bool.random(using: &random)
    message.rejectHint = UInt64.random(in: 0...indexMax, using: &random)
    message.context = (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    if kind == .append {
        var entryTerm = max(message.logTerm, 1)
        message.entries = (0..<Int.random(in: 0...5, using: &random)).map { i in
            entryTerm = UInt64.random(in: entryTerm...term, using: &random)
            return Entry(term: entryTerm, index: message.index + 1 + UInt64(i), kind: Bool.random(using: &random) ? .normal : .configurationChange,
                         data: (0..<Int.random(in: 0...40, using: &random)).map { UInt8(truncatingIfNeeded: $0) })
        }
    }
    if kind == .snapshot {
        let index = UInt64.random(in: 0...indexMax, using: &random)
        message.snapshot = Snapshot(
            metadata: SnapshotMetadata(
                index: index, term: index == 0 ? 0 : UInt64.random(in: 1...term, using: &random),
                configuration: ConfigurationState(voters: [1, 2, 3], learners: [7])),
            data: [1, 2, 3])
    }
    return message
}
