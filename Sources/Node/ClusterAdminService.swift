import Consensus
import Foundation
import Gateway
import HTTPTypes
import Logging
import Storage
import Synchronization
import Transport

extension MessageType {
    /// "Report yourself": answered with a JSON `NodeReport`.
    static let nodeReport = MessageType(0x0400)
    static let nodeReportAnswer = MessageType(0x0401)
    /// An operation for the receiving node to run on itself (JSON `NodeCommand`).
    static let nodeCommand = MessageType(0x0402)
    static let nodeCommandAnswer = MessageType(0x0403)
}

/// What one node asks another to do to itself.
enum NodeCommand: String, Codable, Sendable {
    case drain, snapshot, backup
}

/// A command's outcome on the wire: its JSON, or why it failed.
struct NodeCommandOutcome: Codable, Sendable {
    var result: Data?
    var error: String?
}

/// The cluster operations of the admin API (`ClusterAdmin`): an operation on another node
/// travels to it over the peer transport and runs there.
final class ClusterAdminService: ClusterAdmin, Sendable {
    static let messageTypes: Set<MessageType> = [.nodeReport, .nodeCommand, .bootstrapProbe]
    /// How long a node has to report itself.
    static let reportTimeout = Duration.seconds(3)
    /// How long a new leader may take to win after a transfer.
    static let transferWait = Duration.seconds(10)
    /// How long a peer has to run a snapshot or a backup.
    static let commandTimeout = Duration.seconds(60)
    /// What a drain may take beyond its grace and its wait for in-flight requests
    /// (handing back rights, a leadership transfer, the membership change).
    static let drainStepsTimeout = Duration.seconds(30)

    enum Failure: ClusterOperationFailure {
        case notMember(UInt64)
        case unreachable(UInt64, String)
        case failed(UInt64, String)
        case noTransferee
        case transferTimedOut(UInt64)
        var description: String {
            switch self {
            case let .notMember(id): "node \(id) is not a member of the cluster; clusterctl status lists the members"
            case let .unreachable(id, why): "node \(id) did not answer (\(why)); is it running? For a dead node use remove"
            case let .failed(id, why): "node \(id): \(why)"
            case .noTransferee: "there is no other voter to hand leadership to"
            case let .transferTimedOut(id): "node \(id) did not become leader in time; check clusterctl status and retry"
            }
        }

        var clientStatus: HTTPResponse.Status? {
            switch self {
            case .notMember: .notFound
            case .noTransferee: .conflict
            case .unreachable, .failed, .transferTimedOut: nil
            }
        }
    }

    let nodeID: UInt64
    let driver: RaftDriver
    let operations: RaftClusterOperator
    let quota: QuotaService
    let health: NodeHealth
    let inFlight: InFlightRequests
    let database: Database
    let dataDirectory: String
    let drainGrace: Duration
    let drainTimeout: Duration
    let transport: PeerTransport
    let fanOut: PeerFanOut
    let logger: Logger

    init(
        nodeID: UInt64, driver: RaftDriver, operations: RaftClusterOperator, quota: QuotaService, health: NodeHealth, inFlight: InFlightRequests,
        database: Database, dataDirectory: String, drainGraceMilliseconds: Int, drainTimeoutMilliseconds: Int, transport: PeerTransport, logger: Logger
    ) {
        self.nodeID = nodeID
        self.driver = driver
        self.operations = operations
        self.quota = quota
        self.health = health
        self.inFlight = inFlight
        self.database = database
        self.dataDirectory = dataDirectory
        drainGrace = .milliseconds(drainGraceMilliseconds)
        drainTimeout = .milliseconds(drainTimeoutMilliseconds)
        self.transport = transport
        self.logger = logger
        fanOut = PeerFanOut(
            nodeID: nodeID, transport: transport, members: { let m = await driver.membership; return m.voters + m.learners },
            timeout: Self.reportTimeout, logger: logger)
    }

    // MARK: ClusterAdmin

    func overview() async -> ClusterOverview {
        let parts = await fanOut.ask(.nodeReport, [String: String](), reply: .nodeReportAnswer, as: NodeReport.self) { [self] in await report() }
        let reports = Dictionary(parts.parts.map { ($0.node, $0.part) }, uniquingKeysWith: { a, _ in a })
        return ClusterOverview(answeredBy: nodeID, membership: RaftClusterOperator.view(await driver.membership), reports: reports)
    }

    func drain(node: UInt64) async throws -> DrainReport {
        try await run(.drain, on: node, as: DrainReport.self) { [self] in try await drainSelf() }
    }

    func snapshot(node: UInt64) async throws -> UInt64 {
        try await run(.snapshot, on: node, as: UInt64.self) { [driver] in await driver.snapshotNow() }
    }

    func backup(node: UInt64) async throws -> BackupReport {
        try await run(.backup, on: node, as: BackupReport.self) { [self] in try await backupSelf() }
    }

    func join(node: UInt64, peerAddress: String) async throws -> ClusterMembership {
        try await operations.join(nodeID: node, peerAddress: peerAddress, incarnation: nil, entryLevel: nil)
    }

    func remove(node: UInt64) async throws -> ClusterMembership {
        try await operations.remove(nodeID: node)
    }

    func transferLeader(to node: UInt64?) async throws -> UInt64 {
        let status = await driver.status
        let voters = status.configuration.voters
        let leader = status.softState.leader
        let target: UInt64
        if let node {
            guard voters.contains(node) else { throw Failure.notMember(node) }
            target = node
        } else {
            // The most caught-up other voter, from every node's own report.
            let reports = await overview().members.compactMap(\.report)
            guard let best = reports.filter({ $0.node_id != leader && voters.contains($0.node_id) }).max(by: { $0.applied < $1.applied }) else {
                throw Failure.noTransferee
            }
            target = best.node_id
        }
        if leader == target { return target }
        await driver.transferLeadership(to: target)
        let deadline = ContinuousClock.now.advanced(by: Self.transferWait)
        while ContinuousClock.now < deadline {
            if await driver.status.softState.leader == target { return target }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure.transferTimedOut(target)
    }

    // MARK: Running on the target node

    /// Runs `command` here when `node` is this node, else on `node` over the transport.
    private func run<Result: Codable & Sendable>(
        _ command: NodeCommand, on node: UInt64, as: Result.Type, local: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        if node == nodeID { return try await local() }
        let membership = await driver.membership
        guard membership.voters.contains(node) || membership.learners.contains(node) else { throw Failure.notMember(node) }
        let reply: Envelope
        do {
            reply = try await transport.request(.nodeCommand, Array(try JSONEncoder().encode(command)), to: PeerID(node), timeout: commandTimeout(command))
        } catch {
            throw Failure.unreachable(node, "\(error)")
        }
        guard reply.type == .nodeCommandAnswer, let outcome = try? JSONDecoder().decode(NodeCommandOutcome.self, from: Data(reply.payload)) else {
            throw Failure.failed(node, "its answer was unreadable")
        }
        if let error = outcome.error { throw Failure.failed(node, error) }
        guard let data = outcome.result, let result = try? JSONDecoder().decode(Result.self, from: data) else { throw Failure.failed(node, "its answer was unreadable") }
        return result
    }

    private func commandTimeout(_ command: NodeCommand) -> Duration {
        command == .drain ? drainGrace + drainTimeout + Self.drainStepsTimeout : Self.commandTimeout
    }

    /// Answers peers' reports and commands, each in a task of its own.
    func receive(_ batch: [Envelope]) {
        for envelope in batch where envelope.expectsReply {
            switch envelope.type {
            case .nodeReport:
                Task { await fanOut.reply(to: envelope, .nodeReportAnswer) { [self] _ in Array(try JSONEncoder().encode(await report())) } }
            case .nodeCommand:
                Task { await fanOut.reply(to: envelope, .nodeCommandAnswer) { [self] payload in Array(try JSONEncoder().encode(await execute(payload))) } }
            case .bootstrapProbe:
                Task { await fanOut.reply(to: envelope, .bootstrapProbeAnswer) { [self] _ in await probeAnswer(envelope.sender.rawValue).encode() } }
            default:
                break
            }
        }
    }

    private func execute(_ payload: [UInt8]) async -> NodeCommandOutcome {
        do {
            let encoder = JSONEncoder()
            switch try JSONDecoder().decode(NodeCommand.self, from: Data(payload)) {
            case .drain: return NodeCommandOutcome(result: try encoder.encode(try await drainSelf()))
            case .snapshot: return NodeCommandOutcome(result: try encoder.encode(await driver.snapshotNow()))
            case .backup: return NodeCommandOutcome(result: try encoder.encode(try await backupSelf()))
            }
        } catch {
            return NodeCommandOutcome(error: "\(error)")
        }
    }

    /// What this node, which runs a cluster, knows of the node probing it before a bootstrap.
    func probeAnswer(_ asker: UInt64) async -> ProbeAnswer {
        let status = await driver.status
        let member = status.configuration.members.contains(asker)
        if !member { logger.warning("a node that is not a member probed this cluster before a --bootstrap; it must --join instead", metadata: ["node": "\(asker)"]) }
        let acknowledged = status.softState.role == .leader && (status.progress[asker]?.match ?? 0) > 0
        return ProbeAnswer(hasState: true, askerIsMember: member, recorded: operations.machine.incarnation(of: asker), askerAcknowledged: acknowledged)
    }

    func report() async -> NodeReport {
        NodeReport(status: await operations.status(), readiness: health.readiness(), version: health.identity.version, inFlight: inFlight.current)
    }

    /// Drains this node: reports not ready, keeps serving for `drainGrace` while the load
    /// balancer notices, waits (at most `drainTimeout`) for the requests in flight, hands
    /// its spare quota rights to the other voters, hands leadership on if it leads, and
    /// leaves the voting set. The process can then be stopped.
    func drainSelf() async throws -> DrainReport {
        logger.notice("draining: /health/ready now answers 503")
        health.unmet("draining")
        try await Task.sleep(for: drainGrace)
        let deadline = ContinuousClock.now.advanced(by: drainTimeout)
        while inFlight.current > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let left = inFlight.current
        let grants = await quota.handBackRights()
        var handedTo: UInt64?
        if await driver.status.softState.role == .leader {
            handedTo = try await transferLeader(to: nil)
        }
        let membership = try await operations.remove(nodeID: nodeID, reassigningRights: false)
        logger.notice("drained: left the voting set; stop the process now", metadata: ["in_flight_left": "\(left)", "grants": "\(grants)"])
        return DrainReport(node_id: nodeID, in_flight_left: left, quota_grants_handed_back: grants, leadership_handed_to: handedTo, membership: membership)
    }

    /// Backups taken by this process, so that two in the same second at the same applied
    /// index get different directories (RocksDB will not write a checkpoint into one that
    /// exists, and the caller does not choose the name).
    private static let backupsTaken = Atomic<Int>(0)

    /// A RocksDB checkpoint of this node's state under `DATA_DIR/backups/`, named by time,
    /// applied index and this process's backup count.
    func backupSelf() async throws -> BackupReport {
        let applied = await driver.status.applied
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let count = Self.backupsTaken.wrappingAdd(1, ordering: .relaxed).newValue
        let path = "\(dataDirectory)/backups/\(stamp)-\(applied)-\(count)"
        try FileManager.default.createDirectory(atPath: "\(dataDirectory)/backups", withIntermediateDirectories: true)
        try database.checkpoint(to: path)
        logger.notice("backup written", metadata: ["path": "\(path)", "applied": "\(applied)"])
        return BackupReport(node_id: nodeID, path: path, applied: applied)
    }
}
