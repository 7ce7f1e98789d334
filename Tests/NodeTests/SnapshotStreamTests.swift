import Consensus
import Foundation
import Synchronization
import Testing
import Transport
@testable import Node
import NodeTestSupport

/// Snapshots larger than one peer frame: the chunk codec against hostile bytes, the
/// follower's assembly rules, and a follower that catches up through a streamed snapshot.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SnapshotStreamTests {
    private let start = ContinuousClock.now

    private func chunk(_ stream: UInt64, total: UInt64, offset: UInt64, _ bytes: [UInt8]) -> SnapshotChunk {
        SnapshotChunk(stream: stream, total: total, offset: offset, bytes: bytes)
    }

    @Test func chunksRoundTripAndHostileOnesAreRefused() {
        let good = chunk(7, total: 10, offset: 4, [1, 2, 3])
        #expect(SnapshotChunk.decode(good.encode()) == good)
        // Past the end of the stream, empty, or an offset near 2⁶⁴ that would overflow a sum.
        for bad in [chunk(7, total: 10, offset: 8, [1, 2, 3]), chunk(7, total: 10, offset: 0, []),
                    chunk(7, total: .max, offset: .max - 1, [1, 2, 3]), chunk(7, total: 2, offset: 3, [1])] {
            #expect(SnapshotChunk.decode(bad.encode()) == nil, "\(bad)")
        }
        let bytes = good.encode()
        for cut in 0..<bytes.count { #expect(SnapshotChunk.decode(Array(bytes[..<cut])) == nil, "truncated at \(cut)") }
        #expect(SnapshotChunk.decode(bytes + [0]) == nil, "trailing byte")
        var lying = bytes
        lying[25...28] = [0xFF, 0xFF, 0xFF, 0xFF]  // a data length of 4 GiB over 3 bytes
        #expect(SnapshotChunk.decode(lying) == nil)
        for answer in [SnapshotChunkAnswer.accepted(received: 123), .refused(.outOfOrder), .refused(.unreadable)] {
            #expect(SnapshotChunkAnswer.decode(answer.encode()) == answer)
        }
        #expect(SnapshotChunkAnswer.decode([SnapshotChunk.version, 99, 0, 0, 0, 0, 0, 0, 0, 0]) == nil, "unknown refusal code")
    }

    @Test func theAssemblyTakesOneStreamInOrderAndRefusesTheRest() {
        var assembly = SnapshotAssembly(bytesMax: 100, idleMax: .seconds(10))
        #expect(assembly.add(chunk(1, total: 6, offset: 0, [1, 2]), from: 1, now: start) == .partial(received: 2))
        // A gap, a repeat, another sender's continuation, another stream's: all refused, the stream kept.
        #expect(assembly.add(chunk(1, total: 6, offset: 4, [5, 6]), from: 1, now: start) == .refused(.outOfOrder))
        #expect(assembly.add(chunk(1, total: 6, offset: 0 + 1, [2]), from: 1, now: start) == .refused(.outOfOrder))
        #expect(assembly.add(chunk(1, total: 6, offset: 2, [3, 4]), from: 2, now: start) == .refused(.outOfOrder))
        #expect(assembly.add(chunk(2, total: 6, offset: 2, [3, 4]), from: 1, now: start) == .refused(.outOfOrder))
        #expect(assembly.add(chunk(1, total: 7, offset: 2, [3, 4]), from: 1, now: start) == .refused(.outOfOrder), "a changed total")
        #expect(assembly.add(chunk(1, total: 6, offset: 2, [3, 4]), from: 1, now: start) == .partial(received: 4))
        #expect(assembly.add(chunk(1, total: 6, offset: 4, [5, 6]), from: 1, now: start) == .complete([1, 2, 3, 4, 5, 6]))
        #expect(assembly.incoming == nil, "a finished stream holds no memory")
        #expect(assembly.add(chunk(1, total: 6, offset: 4, [5, 6]), from: 1, now: start) == .refused(.outOfOrder), "replayed last chunk")
    }

    @Test func aNewStreamReplacesTheOldTooLargeIsRefusedAndAnIdleOneIsDropped() {
        var assembly = SnapshotAssembly(bytesMax: 100, idleMax: .seconds(10))
        _ = assembly.add(chunk(1, total: 50, offset: 0, [1]), from: 1, now: start)
        #expect(assembly.add(chunk(2, total: 3, offset: 0, [9]), from: 2, now: start) == .partial(received: 1), "a new leader's stream")
        #expect(assembly.incoming?.sender == 2)
        #expect(assembly.add(chunk(3, total: 101, offset: 0, [1]), from: 2, now: start) == .refused(.tooLarge))
        #expect(assembly.incoming?.stream == 2, "a refused start leaves the current stream")
        assembly.expire(now: start + .seconds(11))
        #expect(assembly.incoming == nil)
        #expect(assembly.add(chunk(2, total: 3, offset: 1, [8]), from: 2, now: start + .seconds(11)) == .refused(.outOfOrder))
    }

    /// Chunks from a node that is not this follower's leader are refused: any member could
    /// otherwise make it expand and check snapshot after snapshot.
    @Test func aFollowerTakesChunksOnlyFromItsLeader() async throws {
        let cluster = try InProcessCluster(size: 3)
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        let followers = cluster.members.keys.filter { $0 != leader }.sorted()
        try await waitUntil("both followers know the leader") {
            for id in followers where await cluster.members[id]!.driver.status.softState.leader != leader { return false }
            return true
        }
        let chunk = SnapshotChunk(stream: 1, total: 3, offset: 0, bytes: [1, 2, 3])
        let reply = try await cluster.members[followers[0]]!.transport.request(.snapshotChunk, chunk.encode(), to: PeerID(followers[1]))
        #expect(SnapshotChunkAnswer.decode(reply.payload) == .refused(.notNow))
        let fromLeader = try await cluster.members[leader]!.transport.request(.snapshotChunk, chunk.encode(), to: PeerID(followers[1]))
        #expect(SnapshotChunkAnswer.decode(fromLeader.payload) == .refused(.unreadable), "the leader's is taken (and these bytes are no snapshot)")
        await cluster.shutdown()
    }

    /// A follower far behind a compacted log gets a snapshot of ~64 chunks and catches up;
    /// the leader's heartbeats go on meanwhile (it stays the leader of the same term).
    @Test func aRestartedFollowerCatchesUpThroughAStreamedSnapshot() async throws {
        let cluster = try InProcessCluster(size: 3) {
            $0.snapshotEveryEntries = 20
            $0.compactionMarginEntries = 2
            $0.snapshotChunkBytes = 4096
        }
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        let follower = cluster.members.keys.first { $0 != leader }!
        await cluster.stop(follower)
        let term = await cluster.members[leader]!.driver.status.hardState.term
        let big = [UInt8](repeating: 0x61, count: 2000)
        for n in 0..<120 { _ = try await cluster.members[leader]!.driver.propose(big + Array("\(n)".utf8)) }
        try cluster.restart(follower)
        try await waitUntil("the restarted node caught up") { cluster.members[follower]!.machine.count == 120 }
        let driver = cluster.members[leader]!.driver
        #expect(await driver.snapshotsStreamed >= 1, "the snapshot went in chunks")
        #expect(await cluster.members[follower]!.driver.snapshotIndex > 20)
        let after = await driver.status
        #expect(after.hardState.term == term && after.softState.role == .leader, "no election during the transfer")
        #expect(cluster.members[follower]!.machine.applied.withLock { $0 } == cluster.members[leader]!.machine.applied.withLock { $0 })
        #expect(await driver.snapshotTransfers.isEmpty, "nothing left under way")
        await cluster.shutdown()
    }
}
