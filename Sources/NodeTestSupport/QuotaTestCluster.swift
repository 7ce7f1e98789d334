import Foundation
import Logging
import Node
import Storage
import Transport

/// Quota services of several nodes in this process, each with its own RocksDB directory
/// and nng sockets on loopback, on a clock that stands still (so a test stays inside one
/// window however long it runs).
public final class QuotaTestCluster: @unchecked Sendable {
    public struct Member {
        public let service: QuotaService
        public let transport: PeerTransport
        public let database: Database
        let task: Task<Void, Never>
    }

    public let root = FileManager.default.temporaryDirectory.appendingPathComponent("weir-quota-\(UUID().uuidString)").path
    public let ids: [UInt64]
    public private(set) var members: [UInt64: Member] = [:]
    var ports: [UInt64: Int] = [:]
    /// The time every node reads: one second into a 10 s window, for the whole test.
    public let now: Int64 = 1_800_000_001_000
    let configuration: QuotaConfiguration
    static let secret = Array("a quota test cluster secret".utf8)

    /// `size` nodes, all connected, splitting every window over all of them.
    public init(size: UInt64, configuration: QuotaConfiguration = QuotaConfiguration()) async throws {
        ids = Array(1...size)
        self.configuration = configuration
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for id in ids { try start(id) }
        try await connect(ids)
    }

    /// Starts node `id` (again, after a crash: from its data directory, on its old port).
    public func start(_ id: UInt64) throws {
        let transport = try PeerTransport(configuration: TransportConfiguration(
            nodeID: PeerID(id), clusterID: "quota-test", clusterSecret: Self.secret,
            listenAddress: "tcp://127.0.0.1:\(ports[id] ?? 0)"))
        ports[id] = transport.listenPort
        let database = try Database(path: "\(root)/\(id)", columnFamilies: StorageLayout.all)
        let now = self.now
        let service = try QuotaService(
            nodeID: id, members: ids, transport: transport, database: database,
            configuration: configuration, logger: Logger(label: "test.quota.\(id)"), now: { now })
        let router = PeerMessageRouter(transport: transport, routes: [(QuotaService.messageTypes, { @Sendable in service.receive($0) })])
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await router.run() }
                group.addTask { await service.run() }
                await group.next()
                group.cancelAll()
            }
        }
        members[id] = Member(service: service, transport: transport, database: database, task: task)
    }

    /// Lets exactly the nodes in `group` talk to each other; the others hear nothing.
    public func connect(_ group: [UInt64]) async throws {
        for id in ids {
            guard let member = members[id] else { continue }
            var peers: [PeerID: String] = [:]
            if group.contains(id) {
                for other in group where other != id { peers[PeerID(other)] = "tcp://127.0.0.1:\(ports[other]!)" }
            }
            try await member.transport.setPeers(peers)
        }
    }

    /// Stops `id` as a crash would: no hand-back, no final write.
    public func crash(_ id: UInt64) async {
        guard let member = members.removeValue(forKey: id) else { return }
        member.task.cancel()
        await member.task.value
        await member.transport.shutdown()
        member.database.close()
    }

    /// Stops every node and removes their data.
    public func shutdown() async {
        for id in ids { await crash(id) }
        try? FileManager.default.removeItem(atPath: root)
    }
}
