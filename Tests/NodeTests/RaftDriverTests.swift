import Consensus
import Foundation
import Logging
import Storage
import Synchronization
import Testing
import Transport
@testable import Node

/// A state machine that records what it applies, for checking order and completeness.
final class RecordingMachine: ReplicatedStateMachine {
    let applied = Mutex<[[UInt8]]>([])

    func apply(_ data: [UInt8], at index: UInt64) { applied.withLock { $0.append(data) } }

    func snapshot() -> [UInt8] {
        var bytes: [UInt8] = []
        for data in applied.withLock({ $0 }) { bytes.appendLengthPrefixedForTest(data) }
        return bytes
    }

    func restore(from data: [UInt8]) throws {
        var entries: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            let length = Int(data[offset]) << 8 | Int(data[offset + 1])
            entries.append(Array(data[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        applied.withLock { $0 = entries }
    }

    var count: Int { applied.withLock { $0.count } }
}

extension Array where Element == UInt8 {
    mutating func appendLengthPrefixedForTest(_ bytes: [UInt8]) {
        append(UInt8(bytes.count >> 8))
        append(UInt8(bytes.count & 0xFF))
        append(contentsOf: bytes)
    }
}

/// Three drivers in this process, each with its own RocksDB directory and nng sockets on
/// loopback: the real storage and transport, without process start-up costs.
final class InProcessCluster: @unchecked Sendable {
    struct Member {
        var database: Database
        var transport: PeerTransport
        var driver: RaftDriver
        var task: Task<Void, Never>
        let machine: RecordingMachine
    }

    let root = FileManager.default.temporaryDirectory.appendingPathComponent("weir-cluster-\(UUID().uuidString)").path
    var members: [UInt64: Member] = [:]
    var ports: [UInt64: Int] = [:]
    let configure: (inout RaftDriverConfiguration) -> Void
    static let secret = Array("an in-process cluster secret".utf8)

    init(size: UInt64, configure: @escaping (inout RaftDriverConfiguration) -> Void = { _ in }) throws {
        self.configure = configure
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var transports: [UInt64: PeerTransport] = [:]
        for id in 1...size { transports[id] = try Self.transport(id, port: 0) }
        for (id, transport) in transports { ports[id] = transport.listenPort }
        let addresses = ports.mapValues { "tcp://127.0.0.1:\($0)" }
        for id in 1...size {
            let database = try Database(path: "\(root)/\(id)", columnFamilies: StorageLayout.all)
            try RaftDriver.bootstrap(database, voters: Array(1...size), addresses: addresses)
            try start(id, database: database, transport: transports[id]!)
        }
    }

    static func transport(_ id: UInt64, port: Int) throws -> PeerTransport {
        try PeerTransport(configuration: TransportConfiguration(
            nodeID: PeerID(id), clusterID: "test", clusterSecret: secret, listenAddress: "tcp://127.0.0.1:\(port)"))
    }

    private func start(_ id: UInt64, database: Database, transport: PeerTransport, machine: RecordingMachine = RecordingMachine()) throws {
        var configuration = RaftDriverConfiguration(nodeID: id, randomSeed: id)
        configure(&configuration)
        let driver = try RaftDriver(
            configuration: configuration, database: database, transport: transport, machine: machine,
            logger: Logger(label: "test.raft.\(id)"))
        let task = Task { await driver.run() }
        members[id] = Member(database: database, transport: transport, driver: driver, task: task, machine: machine)
    }

    /// Stops `id` as a crash would, keeping its data directory.
    func stop(_ id: UInt64) async {
        guard let member = members.removeValue(forKey: id) else { return }
        member.task.cancel()
        await member.task.value
        await member.transport.shutdown()
        member.database.close()
    }

    /// Starts `id` again from its data directory, on its old port.
    func restart(_ id: UInt64) throws {
        let database = try Database(path: "\(root)/\(id)", columnFamilies: StorageLayout.all)
        try start(id, database: database, transport: try Self.transport(id, port: ports[id]!))
    }

    func leader(within timeout: Duration = .seconds(10)) async throws -> UInt64 {
        var found: UInt64?
        try await waitUntil("a leader is elected", within: timeout) {
            for (id, member) in self.members {
                let status = await member.driver.status
                if status.softState.role == .leader { found = id; return true }
            }
            return false
        }
        return found!
    }

    func shutdown() async {
        for id in members.keys.sorted() { await stop(id) }
        try? FileManager.default.removeItem(atPath: root)
    }
}

func waitUntil(_ what: String, within timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct RaftDriverTests {
    private func payload(_ n: Int) -> [UInt8] { Array("p\(n)".utf8) }

    @Test func aThousandProposalsReplicateInOrderThroughFollowersToo() async throws {
        let cluster = try InProcessCluster(size: 3)
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        let follower = cluster.members.keys.first { $0 != leader }!
        // Proposals go to the leader and (forwarded) through a follower, 50 at a time.
        var indexes: [UInt64] = []
        for batch in 0..<20 {
            let target = cluster.members[batch % 2 == 0 ? leader : follower]!.driver
            let results = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for n in (batch * 50)..<(batch * 50 + 50) {
                    group.addTask { try await target.propose(self.payload(n)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            indexes += results
        }
        #expect(Set(indexes).count == 1000, "every proposal got its own index")
        try await waitUntil("every node applied 1000 entries") {
            cluster.members.values.allSatisfy { $0.machine.count == 1000 }
        }
        let reference = cluster.members[leader]!.machine.applied.withLock { $0 }
        for member in cluster.members.values {
            #expect(member.machine.applied.withLock { $0 } == reference, "same entries in the same order")
        }
        #expect(Set(reference) == Set((0..<1000).map(payload)))
        await cluster.shutdown()
    }

    @Test func aNewLeaderTakesOverAndARestartedNodeCatchesUpFromASnapshot() async throws {
        let cluster = try InProcessCluster(size: 3) {
            $0.snapshotEveryEntries = 50
            $0.compactionMarginEntries = 5
        }
        defer { Task { await cluster.shutdown() } }
        let first = try await cluster.leader()
        for n in 0..<20 { _ = try await cluster.members[first]!.driver.propose(payload(n)) }

        // The leader dies; the others elect a successor and keep committing.
        let clock = ContinuousClock()
        let killed = clock.now
        await cluster.stop(first)
        let second = try await cluster.leader(within: .seconds(5))
        let electedAfter = clock.now - killed
        #expect(second != first)
        #expect(electedAfter < .seconds(2), "a new leader within 2 s, took \(electedAfter)")
        for n in 20..<200 { _ = try await cluster.members[second]!.driver.propose(payload(n)) }

        // The old leader restarts far behind the compacted log: it needs the snapshot.
        try cluster.restart(first)
        try await waitUntil("the restarted node caught up") { cluster.members[first]!.machine.count == 200 }
        let installed = await cluster.members[first]!.driver.snapshotIndex
        #expect(installed > 20, "it caught up through a snapshot (at \(installed)), not only the log")
        let reference = cluster.members[second]!.machine.applied.withLock { $0 }
        #expect(cluster.members[first]!.machine.applied.withLock { $0 } == reference)
        let status = await cluster.members[second]!.driver.status
        #expect(status.progress[first]?.match == status.lastIndex)
        await cluster.shutdown()
    }

    @Test func proposalsWithoutAQuorumFailClearly() async throws {
        let cluster = try InProcessCluster(size: 3) { $0.proposalTimeoutMilliseconds = 500 }
        defer { Task { await cluster.shutdown() } }
        let leader = try await cluster.leader()
        for id in cluster.members.keys where id != leader { await cluster.stop(id) }
        do {
            _ = try await cluster.members[leader]!.driver.propose([1])
            Issue.record("a proposal committed without a quorum")
        } catch let error as ProposalError {
            #expect(error == .timedOut || error == .noLeader || error == .dropped, "got \(error)")
        }
        await cluster.shutdown()
    }
}
