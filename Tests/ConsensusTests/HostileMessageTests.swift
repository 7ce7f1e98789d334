import SeededRandom
import Testing
@testable import Consensus
import RaftSimulation

/// Messages a faulty, mixed-version or amnesiac peer can send (DESIGN.md section 9). Each
/// one is stepped into a live node and must be dropped or clamped, never trap, and leave
/// the node's invariants intact; the wire decoder must refuse the malformed ones too.
@Suite struct HostileMessageTests {
    /// Three voters led by 1 in term 1, with a few committed entries everywhere.
    private func cluster(preVote: Bool = true) throws -> RaftCluster {
        let cluster = RaftCluster(voters: [1, 2, 3]) { $0.preVote = preVote }
        cluster.campaign(1)
        for value in UInt8(1)...3 { try cluster.propose([value], on: 1) }
        return cluster
    }

    private func term(_ cluster: RaftCluster) -> UInt64 { cluster.status(1).hardState.term }

    /// Steps `message` into its recipient, after checking what the wire decoder makes of it.
    private func deliver(_ message: Message, to cluster: RaftCluster, wireRefuses: Bool) {
        let decoded = MessageCodec.decodeMessage(MessageCodec.encode(message))
        if wireRefuses {
            #expect(decoded == nil, "the decoder accepted \(message)")
        } else {
            #expect(decoded == message, "the decoder refused or changed \(message)")
        }
        cluster.withNode(message.to) { $0.step(message) }
        cluster.stabilize()
    }

    /// Every node's log and term bounds hold, and the group still commits.
    private func expectIntactAndLive(_ cluster: RaftCluster, sourceLocation: SourceLocation = #_sourceLocation) throws {
        expectInvariants(cluster, sourceLocation: sourceLocation)
        cluster.advance(ticks: 30)
        let leader = try #require(cluster.leader, sourceLocation: sourceLocation)
        try cluster.propose([0xAB], on: leader)
        for id in cluster.nodes.keys.sorted() where cluster.status(leader).configuration.members.contains(id) {
            #expect(cluster.nodes[id]!.applied.entries.values.contains([0xAB]), "node \(id) did not apply", sourceLocation: sourceLocation)
        }
        expectInvariants(cluster, sourceLocation: sourceLocation)
    }

    // MARK: Finding D4: commit past the last index

    @Test func aHeartbeatCommitPastTheLastIndexCommitsNothing() throws {
        let cluster = try cluster()
        let before = cluster.status(2)
        var heartbeat = Message(kind: .heartbeat, from: 1, to: 2, term: term(cluster))
        heartbeat.commit = before.lastIndex + 5
        deliver(heartbeat, to: cluster, wireRefuses: false)
        #expect(cluster.status(2).hardState.commit == before.hardState.commit)
        try expectIntactAndLive(cluster)
    }

    /// The honest case: node 3 loses its data and comes back under its id with an empty
    /// log, while the leader still remembers its old `match`.
    @Test func aVoterThatLostItsDataSurvivesTheLeadersHeartbeat() throws {
        let cluster = try cluster()
        cluster.stop(3)
        cluster.addJoiningNode(3, membership: ConfigurationState(voters: [1, 2, 3]))
        cluster.advance(ticks: 3)
        let status = cluster.status(3)
        #expect(status.hardState.commit == 0 && status.lastIndex == 0, "nothing the log does not hold is committed")
        try cluster.propose([9], on: 1)
        #expect(cluster.nodes[2]!.applied.entries.values.contains([9]), "1 and 2 still commit")
        expectInvariants(cluster)
    }

    @Test func anAppendCommitPastItsEntriesIsClampedToThem() throws {
        let cluster = try cluster()
        let status = cluster.status(2)
        var append = Message(kind: .append, from: 1, to: 2, term: term(cluster))
        append.index = status.lastIndex
        append.logTerm = try #require(cluster.nodes[2]!.raw.term(at: status.lastIndex))
        append.entries = [Entry(term: term(cluster), index: status.lastIndex + 1, data: [7])]
        append.commit = status.lastIndex + 50
        deliver(append, to: cluster, wireRefuses: false)
        #expect(cluster.status(2).hardState.commit == status.lastIndex + 1)
        // (Not live: the forged entry shares the leader's term, so Raft cannot tell it apart.)
        expectInvariants(cluster)
    }

    // MARK: Finding D2: terms near UInt64.max

    @Test func aTermPastTheLimitIsRefusedAndNeverAdopted() throws {
        let cluster = try cluster()
        for hostileTerm in [UInt64.max, termMax + 1] {
            var response = Message(kind: .appendResponse, from: 3, to: 2, term: hostileTerm)
            response.index = 1
            deliver(response, to: cluster, wireRefuses: true)
            #expect(cluster.status(2).hardState.term == term(cluster))
        }
        try expectIntactAndLive(cluster)
    }

    @Test func aNodeAtTheTermLimitStaysAFollowerInsteadOfOverflowing() throws {
        let cluster = try cluster()
        var response = Message(kind: .appendResponse, from: 3, to: 2, term: termMax)
        response.index = 1
        deliver(response, to: cluster, wireRefuses: false)
        #expect(cluster.status(2).hardState.term == termMax)
        cluster.withNode(2) { $0.campaign() }
        cluster.advance(ticks: 30)
        #expect(cluster.status(2).hardState.term == termMax)
        #expect(cluster.status(2).softState.role == .follower)
        expectInvariants(cluster)
    }

    @Test func aStoredTermPastTheLimitIsATypedErrorAtStart() throws {
        let storage = MemoryStorage(bootstrap: ConfigurationState(voters: [1, 2, 3]))
        storage.setHardState(HardState(term: .max, vote: 2, commit: 0))
        #expect(throws: RaftStateError.termBeyondLimit(.max)) {
            try RawNode(configuration: RaftConfiguration(id: 1, randomSeed: 1), storage: storage)
        }
    }

    // MARK: Finding D3: term 0

    @Test func aVoteRequestWithTermZeroIsDropped() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])  // fresh: term 0, no leader, no vote
        for kind in [Message.Kind.vote, .preVote] {
            let request = Message(kind: kind, from: 2, to: 1, term: 0)
            deliver(request, to: cluster, wireRefuses: true)
        }
        #expect(cluster.status(1).hardState.vote == noNode)
        try expectIntactAndLive(cluster)
    }

    @Test func aTermZeroAppendIsNotTakenAsTheCurrentLeader() throws {
        let cluster = RaftCluster(voters: [1, 2, 3])
        var append = Message(kind: .append, from: 2, to: 1, term: 0)
        append.commit = 0
        deliver(append, to: cluster, wireRefuses: true)
        #expect(cluster.status(1).softState.leader == noNode)
        deliver(Message(kind: .heartbeat, from: 2, to: 1, term: 0), to: cluster, wireRefuses: true)
        #expect(cluster.status(1).softState.leader == noNode)
        try expectIntactAndLive(cluster)
    }

    @Test func aTermZeroVoteIsNotCounted() throws {
        let cluster = RaftCluster(voters: [1, 2, 3]) { $0.preVote = false }
        cluster.partition([1])
        cluster.withNode(1) { $0.campaign() }
        cluster.stabilize()
        #expect(cluster.status(1).softState.role == .candidate)
        deliver(Message(kind: .voteResponse, from: 2, to: 1, term: 0), to: cluster, wireRefuses: true)
        #expect(cluster.status(1).softState.role == .candidate, "a term-0 grant made it leader")
        cluster.heal()
        try expectIntactAndLive(cluster)
    }

    @Test func termLessKindsCarryNoTerm() {
        for kind in [Message.Kind.readIndex, .transferLeader] {
            #expect(MessageCodec.decodeMessage(MessageCodec.encode(Message(kind: kind, from: 2, to: 1, term: 0))) != nil)
            #expect(MessageCodec.decodeMessage(MessageCodec.encode(Message(kind: kind, from: 2, to: 1, term: 3))) == nil)
        }
    }

    // MARK: Finding D5: entries that do not follow `index`

    @Test func anAppendWhoseEntriesDoNotFollowItsIndexIsDropped() throws {
        let cluster = try cluster()
        let status = cluster.status(2)
        let last = status.lastIndex
        let current = term(cluster)
        let lastTerm = try #require(cluster.nodes[2]!.raw.term(at: last))
        let shapes: [(String, [Entry])] = [
            ("a gap", [Entry(term: current, index: last + 5)]),
            ("at index", [Entry(term: lastTerm - 1, index: last, data: [1])]),
            ("before index", [Entry(term: current, index: last - 1)]),
            ("a duplicate", [Entry(term: current, index: last + 1), Entry(term: current, index: last + 1)]),
            ("out of order", [Entry(term: current, index: last + 2), Entry(term: current, index: last + 1)]),
            ("a term past the message's", [Entry(term: current + 1, index: last + 1)]),
            ("falling terms", [Entry(term: current, index: last + 1), Entry(term: current - 1, index: last + 2)]),
            ("a term before logTerm", [Entry(term: lastTerm - 1, index: last + 1)]),
            ("an index past the limit", [Entry(term: current, index: indexMax + 1)]),
        ]
        for (shape, entries) in shapes {
            var append = Message(kind: .append, from: 1, to: 2, term: current)
            append.index = last
            append.logTerm = lastTerm
            append.entries = entries
            append.commit = last
            deliver(append, to: cluster, wireRefuses: true)
            #expect(cluster.status(2).lastIndex == last, "\(shape): the log changed")
            expectInvariants(cluster)
        }
        try expectIntactAndLive(cluster)
    }

    // MARK: Finding D6: acknowledgements past the leader's log

    @Test func anAcknowledgementPastTheLeadersLogIsIgnored() throws {
        let cluster = try cluster()
        let before = cluster.status(1)
        for index in [UInt64.max, indexMax + 1] {
            var response = Message(kind: .appendResponse, from: 2, to: 1, term: term(cluster))
            response.index = index
            deliver(response, to: cluster, wireRefuses: true)
        }
        var beyond = Message(kind: .appendResponse, from: 2, to: 1, term: term(cluster))
        beyond.index = before.lastIndex + 10
        deliver(beyond, to: cluster, wireRefuses: false)
        let after = cluster.status(1)
        #expect(after.progress[2]!.match <= after.lastIndex)
        #expect(after.hardState.commit == before.hardState.commit)
        var rejection = Message(kind: .appendResponse, from: 2, to: 1, term: term(cluster))
        rejection.reject = true
        rejection.index = before.lastIndex
        rejection.rejectHint = indexMax
        rejection.logTerm = 1
        deliver(rejection, to: cluster, wireRefuses: false)
        try expectIntactAndLive(cluster)
    }

    // MARK: Finding D7: snapshot index near UInt64.max

    @Test func aSnapshotPastTheIndexLimitIsRefused() throws {
        let cluster = try cluster()
        for index in [UInt64.max, indexMax + 1] {
            var message = Message(kind: .snapshot, from: 1, to: 2, term: term(cluster))
            message.snapshot = Snapshot(metadata: SnapshotMetadata(
                index: index, term: term(cluster), configuration: ConfigurationState(voters: [1, 2, 3])))
            deliver(message, to: cluster, wireRefuses: true)
            #expect(cluster.status(2).lastIndex < indexMax)
        }
        try expectIntactAndLive(cluster)
    }

    @Test func everyIndexFieldHasACeiling() {
        func refused(_ edit: (inout Message) -> Void) -> Bool {
            var message = Message(kind: .append, from: 1, to: 2, term: 3)
            edit(&message)
            return MessageCodec.decodeMessage(MessageCodec.encode(message)) == nil
        }
        #expect(!refused { $0.index = indexMax; $0.commit = indexMax; $0.rejectHint = indexMax })
        #expect(refused { $0.index = indexMax + 1 })
        #expect(refused { $0.commit = indexMax + 1 })
        #expect(refused { $0.rejectHint = indexMax + 1 })
        #expect(refused { $0.logTerm = termMax + 1 })
    }
}

/// Checks the log and term bounds on every node of `cluster`.
func expectInvariants(_ cluster: RaftCluster, sourceLocation: SourceLocation = #_sourceLocation) {
    for id in cluster.nodes.keys.sorted() {
        let status = cluster.status(id)
        #expect(status.hardState.term <= termMax, "node \(id) term \(status.hardState.term)", sourceLocation: sourceLocation)
        #expect(status.hardState.commit <= status.lastIndex, "node \(id) committed past its log", sourceLocation: sourceLocation)
        #expect(status.applied <= status.hardState.commit, "node \(id) applied past its commit", sourceLocation: sourceLocation)
        #expect(status.lastIndex <= indexMax, "node \(id) last index \(status.lastIndex)", sourceLocation: sourceLocation)
    }
}

let termMax = RaftLimits.termMax
let indexMax = RaftLimits.indexMax
