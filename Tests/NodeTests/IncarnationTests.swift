import Testing
@testable import Node

/// The pieces that keep a node with a wiped disk from voting as the member it was: the
/// recorded incarnations in the replicated state, the probe a bootstrapping node sends,
/// and the verdicts on what peers answer.
@Suite struct IncarnationTests {
    let a = Incarnation(hex: "000102030405060708090a0b0c0d0e0f")!
    let b = Incarnation(hex: "ffeeddccbbaa99887766554433221100")!

    @Test func incarnationsReadOnlyFromExactlySixteenBytesOfHex() {
        #expect(a.hex == "000102030405060708090a0b0c0d0e0f" && Incarnation(hex: a.hex.uppercased()) == a)
        for bad in ["", "00", String(repeating: "0", count: 31), String(repeating: "0", count: 33), String(repeating: "g", count: 32), String(repeating: "é", count: 16)] {
            #expect(Incarnation(hex: bad) == nil, "\(bad)")
        }
        #expect(Incarnation(bytes: [1, 2, 3]) == nil && Incarnation.random() != Incarnation.random())
    }

    @Test func recordedIncarnationsAreReplicatedSnapshottedAndTheLatestWins() throws {
        let machine = NodeStateMachine()
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: a), at: 1)
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 7, incarnation: a), at: 2)
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: b), at: 3)
        #expect(machine.incarnation(of: 3) == b && machine.incarnation(of: 7) == a && machine.incarnation(of: 1) == nil)
        let restored = NodeStateMachine()
        try restored.restore(from: machine.snapshot(), at: 3)
        #expect(restored.incarnation(of: 3) == b && restored.incarnation(of: 7) == a)
        #expect(NodeStateMachine.check(NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: a)) == nil)
    }

    @Test func aRemovedMembersRecordGoesWithIt() {
        let machine = NodeStateMachine()
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: a), at: 1)
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 4, incarnation: b), at: 2)
        machine.memberRemoved(3, at: 3)
        #expect(machine.incarnation(of: 3) == nil && machine.incarnation(of: 4) == b)
    }

    @Test func aDamagedIncarnationEntryIsRejectedOnEveryNodeAlike() {
        let good = NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: a)
        var nodeZero = good
        for i in 1...8 { nodeZero[i] = 0 }
        for bad in [Array(good.dropLast()), good + [0], nodeZero, [5]] {
            #expect(NodeStateMachine.check(bad) == .malformed("member incarnation"), "\(bad)")
            let machine = NodeStateMachine()
            machine.apply(bad, at: 1)
            #expect(machine.rejected.count == 1 && machine.incarnation(of: 3) == nil)
        }
    }

    @Test func aSnapshotWithADamagedIncarnationTableIsRefused() {
        let machine = NodeStateMachine()
        machine.apply(NodeStateMachine.memberIncarnationEntry(node: 3, incarnation: a), at: 1)
        let snapshot = machine.snapshot()
        #expect(machine.canRestore(from: snapshot))
        #expect(!machine.canRestore(from: Array(snapshot.dropLast())), "cut inside the table")
        var twice = Array(snapshot.dropLast(4 + 8 + 16))
        twice += [0, 0, 0, 2]
        for _ in 0..<2 { twice += [0, 0, 0, 0, 0, 0, 0, 3] + a.bytes }
        #expect(!machine.canRestore(from: twice), "a node listed twice")
        var huge = Array(snapshot.dropLast(4 + 8 + 16))
        huge += [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(!machine.canRestore(from: huge), "a count past the bytes")
    }

    @Test func probeAnswersRoundTripAndDamagedOnesAreRefused() {
        for answer in [ProbeAnswer.fresh, ProbeAnswer(hasState: true, askerIsMember: true), ProbeAnswer(hasState: true, askerIsMember: true, recorded: a),
                       ProbeAnswer(hasState: true, askerIsMember: false), ProbeAnswer(hasState: true, askerIsMember: true, askerAcknowledged: true)] {
            #expect(ProbeAnswer.decode(answer.encode()) == answer)
        }
        let recorded = ProbeAnswer(hasState: true, askerIsMember: true, recorded: a).encode()
        for bad in [[], [2, 0], [1, 16], [1], Array(recorded.dropLast()), recorded + [0]] as [[UInt8]] {
            #expect(ProbeAnswer.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func aBootstrapIsRefusedOnlyWhereAPeerShowsTheNodeRanBefore() {
        #expect(BootstrapProbe.verdict(.fresh, node: 3, peer: 1) == nil, "a peer starting too: the first formation")
        #expect(BootstrapProbe.verdict(ProbeAnswer(hasState: true, askerIsMember: true), node: 3, peer: 1) == nil,
                "a member that never ran (nothing recorded): its first start")
        let ranBefore = BootstrapProbe.verdict(ProbeAnswer(hasState: true, askerIsMember: true, recorded: a), node: 3, peer: 1)
        #expect(ranBefore.map { "\($0)".contains("clusterctl remove 3") && "\($0)".contains("--join") } == true, "\(String(describing: ranBefore))")
        let acknowledged = BootstrapProbe.verdict(ProbeAnswer(hasState: true, askerIsMember: true, askerAcknowledged: true), node: 3, peer: 1)
        #expect(acknowledged.map { "\($0)".contains("acknowledged entries") } == true, "a voter of an earlier version's cluster: no record, but it ran")
        let stranger = BootstrapProbe.verdict(ProbeAnswer(hasState: true, askerIsMember: false), node: 4, peer: 1)
        #expect(stranger.map { "\($0)".contains("--join") } == true)
    }
}
