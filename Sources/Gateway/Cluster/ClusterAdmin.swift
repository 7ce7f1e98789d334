import HTTPTypes

/// What the admin API's cluster endpoints ask the node (`Node` implements it over Raft and
/// the peer transport): every node's view, and the operations `clusterctl` runs.
public protocol ClusterAdmin: Sendable {
    /// Every member's own report, asked of each over the peer transport.
    func overview() async -> ClusterOverview
    /// Drains `node` (see `DrainReport`); returns when it has left the voting set.
    func drain(node: UInt64) async throws -> DrainReport
    /// Hands leadership to `node` (nil: the most caught-up other voter); returns the new leader.
    func transferLeader(to node: UInt64?) async throws -> UInt64
    /// Adds `node`, reachable at `peerAddress`, as a learner (the leader promotes it once
    /// it has caught up); the node itself then starts with `--join`.
    func join(node: UInt64, peerAddress: String) async throws -> ClusterMembership
    /// Removes `node` at once, for a dead one (its unused quota rights go to the voters).
    func remove(node: UInt64) async throws -> ClusterMembership
    /// Makes `node` snapshot its state now and compact its log; returns the snapshot index.
    func snapshot(node: UInt64) async throws -> UInt64
    /// Writes a RocksDB checkpoint of `node`'s state on its own disk; returns where.
    func backup(node: UInt64) async throws -> BackupReport
}

/// One node's report of itself.
public struct NodeReport: Codable, Sendable, Equatable {
    public var node_id: UInt64
    public var role: String
    public var leader: UInt64
    public var term: UInt64
    public var commit: UInt64
    public var applied: UInt64
    public var snapshot_index: UInt64
    /// `ready`, or what it waits for (`leader`, `draining` …).
    public var ready: Bool
    public var waiting_for: [String]
    /// Entries behind the leader's commit index when the node last asked (`catch_up`).
    public var catch_up_lag: UInt64?
    /// Snapshots streaming to or from this node.
    public var snapshot_transfers: [SnapshotTransfer]?
    public var version: String
    public var in_flight: Int
    /// The entry level of this node's build, and the lowest level among the members as
    /// this node knows it (docs/operations.md, "Upgrades: entry levels").
    public var entry_level: UInt16?
    public var cluster_entry_level: UInt16?

    public init(status: ClusterStatus, readiness: Readiness, version: String, inFlight: Int) {
        node_id = status.node_id
        role = status.role
        leader = status.leader
        term = status.term
        commit = status.commit
        applied = status.applied
        snapshot_index = status.snapshot_index
        ready = readiness.isReady
        waiting_for = readiness.waitingFor
        catch_up_lag = readiness.lag
        snapshot_transfers = status.snapshot_transfers.flatMap { $0.isEmpty ? nil : $0 }
        self.version = version
        in_flight = inFlight
        entry_level = status.entry_level
        cluster_entry_level = status.cluster_entry_level
    }
}

/// The cluster as `clusterctl status` shows it: the membership this node knows, and each
/// member's report (or that it did not answer).
public struct ClusterOverview: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var node_id: UInt64
        /// `voter` or `learner`.
        public var membership: String
        public var peer_address: String?
        /// Whether it answered within the time limit.
        public var reachable: Bool
        public var report: NodeReport?
        /// The leader's commit index minus this member's applied index.
        public var lag: UInt64?
    }

    /// The node that answered the call.
    public var answered_by: UInt64
    public var leader: UInt64
    public var term: UInt64
    public var members: [Member]

    public init(answeredBy: UInt64, membership: ClusterMembership, reports: [UInt64: NodeReport]) {
        answered_by = answeredBy
        let leaderReport = reports.values.filter { $0.role == "leader" }.max { $0.term < $1.term }
        leader = leaderReport?.node_id ?? reports[answeredBy]?.leader ?? 0
        term = reports.values.map(\.term).max() ?? 0
        let commit = leaderReport?.commit ?? reports.values.map(\.commit).max() ?? 0
        members = (membership.voters.map { ($0, "voter") } + membership.learners.map { ($0, "learner") }).sorted { $0.0 < $1.0 }.map { id, kind in
            let report = reports[id]
            return Member(
                node_id: id, membership: kind, peer_address: membership.addresses[String(id)], reachable: report != nil, report: report,
                lag: report.map { commit > $0.applied ? commit - $0.applied : 0 })
        }
    }
}

/// What a drain did, step by step.
public struct DrainReport: Codable, Sendable, Equatable {
    public var node_id: UInt64
    /// Requests still in flight when the drain stopped waiting (0 unless it timed out).
    public var in_flight_left: Int
    /// Quota windows whose spare rights went to the other voters.
    public var quota_grants_handed_back: Int
    /// The leader the node handed leadership to, if it led.
    public var leadership_handed_to: UInt64?
    /// The membership after the node left the voting set.
    public var membership: ClusterMembership

    public init(node_id: UInt64, in_flight_left: Int, quota_grants_handed_back: Int, leadership_handed_to: UInt64?, membership: ClusterMembership) {
        self.node_id = node_id
        self.in_flight_left = in_flight_left
        self.quota_grants_handed_back = quota_grants_handed_back
        self.leadership_handed_to = leadership_handed_to
        self.membership = membership
    }
}

/// Where a backup was written.
public struct BackupReport: Codable, Sendable, Equatable {
    public var node_id: UInt64
    /// The checkpoint's directory on that node's disk.
    public var path: String
    /// The Raft index applied when it was taken.
    public var applied: UInt64

    public init(node_id: UInt64, path: String, applied: UInt64) {
        self.node_id = node_id
        self.path = path
        self.applied = applied
    }
}

/// A cluster operation's failure that the caller can fix, answered with a 4xx rather than
/// the 503 of an outage: a node that is not a member (404), nothing to hand leadership to
/// (409).
public protocol ClusterOperationFailure: Error, CustomStringConvertible {
    /// The status to answer with; nil when the failure is an outage (503).
    var clientStatus: HTTPResponse.Status? { get }
}

extension AdminError {
    /// The answer to a failed cluster operation.
    static func cluster(_ error: any Error) -> AdminError {
        if let failure = error as? any ClusterOperationFailure, let status = failure.clientStatus {
            return AdminError(status, status == .notFound ? "not_found" : "conflict", failure.description)
        }
        return AdminError(.serviceUnavailable, "cluster_unavailable", "\(error)")
    }
}
