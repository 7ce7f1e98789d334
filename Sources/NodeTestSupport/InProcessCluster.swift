import Consensus
import Foundation
import Logging
import Node
import Storage
import Synchronization
import Transport

/// A state machine that records what it applies, for checking order and completeness.
public final class RecordingMachine: ReplicatedStateMachine {
    public let applied = Mutex<[[UInt8]]>([])
    /// The highest index the driver reported applied, with data or without.
    public let noted = Mutex<UInt64>(0)

    public init() {}

    public func apply(_ data: [UInt8], at index: UInt64) {
        applied.withLock { $0.append(data) }
        noted.withLock { $0 = max($0, index) }
    }

    public func appliedNothing(at index: UInt64) { noted.withLock { $0 = max($0, index) } }

    public func snapshot() -> [UInt8] {
        var bytes: [UInt8] = []
        for data in applied.withLock({ $0 }) { bytes.appendTwoByteLengthPrefixed(data) }
        return bytes
    }

    public func restore(from data: [UInt8], at index: UInt64) throws {
        var entries: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            let length = Int(data[offset]) << 8 | Int(data[offset + 1])
            entries.append(Array(data[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        applied.withLock { $0 = entries }
    }

    public var count: Int { applied.withLock { $0.count } }
}

extension Array where Element == UInt8 {
    mutating func appendTwoByteLengthPrefixed(_ bytes: [UInt8]) {
        append(UInt8(bytes.count >> 8))
        append(UInt8(bytes.count & 0xFF))
        append(contentsOf: bytes)
    }
}

/// Three drivers in this process, each with its own RocksDB directory and nng sockets on
/// loopback: the real storage and transport, without process start-up costs.
public final class InProcessCluster: @unchecked Sendable {
    public struct Member {
        public var database: Database
        public var transport: PeerTransport
        public var driver: RaftDriver
        public var task: Task<Void, Never>
        public let machine: RecordingMachine
    }

    public let root = FileManager.default.temporaryDirectory.appendingPathComponent("weir-cluster-\(UUID().uuidString)").path
    public var members: [UInt64: Member] = [:]
    public var ports: [UInt64: Int] = [:]
    let configure: (inout RaftDriverConfiguration) -> Void
    static let secret = Array("an in-process cluster secret".utf8)

    public init(size: UInt64, configure: @escaping (inout RaftDriverConfiguration) -> Void = { _ in }) throws {
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
        let router = PeerMessageRouter(
            transport: transport, routes: [(RaftDriver.messageTypes, { @Sendable in await driver.receive($0) })])
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await driver.run() }
                group.addTask { await router.run() }
                await group.next()
                group.cancelAll()
            }
        }
        members[id] = Member(database: database, transport: transport, driver: driver, task: task, machine: machine)
    }

    /// Stops `id` as a crash would, keeping its data directory.
    public func stop(_ id: UInt64) async {
        guard let member = members.removeValue(forKey: id) else { return }
        member.task.cancel()
        await member.task.value
        await member.transport.shutdown()
        member.database.close()
    }

    /// Starts `id` again from its data directory, on its old port.
    public func restart(_ id: UInt64) throws {
        let database = try Database(path: "\(root)/\(id)", columnFamilies: StorageLayout.all)
        try start(id, database: database, transport: try Self.transport(id, port: ports[id]!))
    }

    public func leader(within timeout: Duration = .seconds(10)) async throws -> UInt64 {
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

    public func shutdown() async {
        for id in members.keys.sorted() { await stop(id) }
        try? FileManager.default.removeItem(atPath: root)
    }
}

public func waitUntil(_ what: String, within timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw WaitTimeout(what: what)
}


/// A condition was not met before its deadline.
public struct WaitTimeout: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "timed out waiting until \(what)" }
}
