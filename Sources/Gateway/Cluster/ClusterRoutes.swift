import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The membership as reported to other nodes and operators.
public struct ClusterMembership: Codable, Equatable, Sendable {
    public var voters: [UInt64]
    public var learners: [UInt64]
    /// Peer addresses by node id (as strings, for JSON).
    public var addresses: [String: String]

    public init(voters: [UInt64], learners: [UInt64], addresses: [String: String]) {
        self.voters = voters
        self.learners = learners
        self.addresses = addresses
    }

    /// The most members a membership may list.
    public static let membersMax = 64

    /// What makes this answer unusable for node `joining` to start from, or nil: ids are
    /// non-zero and unique, voters and learners disjoint, `joining` among them, every
    /// address a `tcp://` one of a listed member. The answer arrives over HTTP, so it is
    /// checked before Raft's own preconditions see it.
    public func problem(joining: UInt64) -> String? {
        let members = voters + learners
        guard !voters.isEmpty, members.count <= Self.membersMax else { return "it lists \(voters.count) voters and \(learners.count) learners" }
        guard !members.contains(0), Set(members).count == members.count else { return "a node id is 0 or listed twice" }
        guard members.contains(joining) else { return "it does not list node \(joining)" }
        for (id, address) in addresses {
            guard let node = UInt64(id), members.contains(node), address.hasPrefix("tcp://"), address.utf8.count <= 256 else {
                return "address '\(id.prefix(20))' → '\(address.prefix(60))' is not a tcp:// address of a member"
            }
        }
        return nil
    }
}

/// The canaries a node has applied (see `POST /cluster/v1/canary`).
public struct CanarySummary: Codable, Equatable, Sendable {
    public var count: UInt64
    /// Hex SHA-256 chained over every canary's index and nonce: equal on nodes that applied the same ones.
    public var digest: String
    public var last_index: UInt64

    public init(count: UInt64, digest: String, last_index: UInt64) {
        self.count = count
        self.digest = digest
        self.last_index = last_index
    }
}

/// A committed canary.
public struct CanaryResult: Codable, Equatable, Sendable {
    public var index: UInt64
    public var nonce: UInt64
    /// From proposal to applied on the leader, in milliseconds.
    public var latency_ms: Double

    public init(index: UInt64, nonce: UInt64, latency_ms: Double) {
        self.index = index
        self.nonce = nonce
        self.latency_ms = latency_ms
    }
}

/// One node's view of the cluster, for `GET /cluster/v1/status`.
public struct ClusterStatus: Codable, Equatable, Sendable {
    public var node_id: UInt64
    public var role: String
    public var leader: UInt64
    public var term: UInt64
    public var commit: UInt64
    public var applied: UInt64
    /// The index of the latest snapshot this node holds.
    public var snapshot_index: UInt64
    public var membership: ClusterMembership
    public var canaries: CanarySummary
    /// How quota caps split over voters, by window start (the replicated schedule).
    public var quota_split: [QuotaSplit]
    /// The data directory incarnation the cluster recorded for each node, by node id: a
    /// node that comes back under its id from another one is refused as that member.
    public var incarnations: [String: String]?
    /// Snapshots streaming to or from this node.
    public var snapshot_transfers: [SnapshotTransfer]?
    /// The entry level each member recorded (the build it runs), by node id; a member with
    /// none counts as level 3 (docs/operations.md, rolling restart).
    public var entry_levels: [String: UInt16]?
    /// The lowest level among the members: the leader proposes nothing above it.
    public var cluster_entry_level: UInt16?
    /// The level of this node's build.
    public var entry_level: UInt16?

    public init(
        node_id: UInt64, role: String, leader: UInt64, term: UInt64, commit: UInt64, applied: UInt64,
        snapshot_index: UInt64, membership: ClusterMembership, canaries: CanarySummary, quota_split: [QuotaSplit] = [],
        incarnations: [String: String]? = nil, snapshot_transfers: [SnapshotTransfer]? = nil,
        entry_levels: [String: UInt16]? = nil, cluster_entry_level: UInt16? = nil, entry_level: UInt16? = nil
    ) {
        self.node_id = node_id
        self.role = role
        self.leader = leader
        self.term = term
        self.commit = commit
        self.applied = applied
        self.snapshot_index = snapshot_index
        self.membership = membership
        self.canaries = canaries
        self.quota_split = quota_split
        self.incarnations = incarnations
        self.snapshot_transfers = snapshot_transfers
        self.entry_levels = entry_levels
        self.cluster_entry_level = cluster_entry_level
        self.entry_level = entry_level
    }
}

/// Windows starting at or after `effective_from_ms` (null: every window) split their caps
/// over `voters`.
public struct QuotaSplit: Codable, Equatable, Sendable {
    public var effective_from_ms: Int64?
    /// The voters each window's cap is split over; empty when `pooled`.
    public var voters: [UInt64]
    /// True when windows from `effective_from_ms` start with their whole cap in the pool,
    /// from which nodes draw allocations through the log (docs/quotas.md).
    public var pooled: Bool

    public init(effective_from_ms: Int64?, voters: [UInt64], pooled: Bool = false) {
        self.effective_from_ms = effective_from_ms
        self.voters = voters
        self.pooled = pooled
    }
}

/// What the cluster routes ask the node. `Node` implements it over Raft.
public protocol ClusterOperator: Sendable {
    /// Adds `nodeID` as a learner reachable at `peerAddress`; returns the membership
    /// after the change is committed. The leader promotes it once it has caught up.
    /// `incarnation` (32 hex digits) names the joining node's data directory: a member
    /// asking again from another one lost its disk and is refused (409). `entryLevel` is
    /// the level of the joining node's build: one below the cluster's is refused (409).
    func join(nodeID: UInt64, peerAddress: String, incarnation: String?, entryLevel: UInt16?) async throws -> ClusterMembership
    /// Removes `nodeID` from the group; returns the membership after the change.
    func remove(nodeID: UInt64) async throws -> ClusterMembership
    /// This node's view of the cluster.
    func status() async -> ClusterStatus
    /// Commits a canary entry through Raft and returns where it landed.
    func canary() async throws -> CanaryResult
    /// The nonce of the canary this node applied at `index`, if it still keeps it.
    func canary(at index: UInt64) async -> UInt64?
}

/// `POST /cluster/v1/join`, `POST /cluster/v1/remove`, `GET /cluster/v1/status`,
/// `POST /cluster/v1/canary`, `GET /cluster/v1/canaries/{index}`: the node-to-node and
/// operator API of the Raft group, authenticated by `ClusterSignature` (the cluster secret).
public struct ClusterRoutes<Context: RequestContext>: Sendable {
    let cluster: any ClusterOperator
    let signature: ClusterSignature
    /// Bodies of these routes are small JSON objects.
    public static var bodyBytesMax: Int { 16 * 1024 }

    public init(cluster: any ClusterOperator, signature: ClusterSignature) {
        self.cluster = cluster
        self.signature = signature
    }

    struct JoinRequest: Decodable { let node_id: UInt64; let peer_address: String; let incarnation: String?; let entry_level: UInt16? }
    struct RemoveRequest: Decodable { let node_id: UInt64 }
    struct Failure: Encodable { let error: Detail }
    struct Detail: Encodable { let type: String; let message: String }

    public func register(on router: Router<Context>) {
        let cluster = self.cluster
        let signature = self.signature
        router.post("/cluster/v1/join") { request, context in
            try await Self.authenticated(request, context, signature) { (body: JoinRequest) in
                guard body.node_id > 0, body.peer_address.hasPrefix("tcp://") else {
                    return Self.failure(.badRequest, "invalid_request", "node_id must be positive and peer_address a tcp://host:port address")
                }
                return try await Self.answer {
                    try await cluster.join(
                        nodeID: body.node_id, peerAddress: body.peer_address, incarnation: body.incarnation, entryLevel: body.entry_level)
                }
            }
        }
        router.post("/cluster/v1/remove") { request, context in
            try await Self.authenticated(request, context, signature) { (body: RemoveRequest) in
                try await Self.answer { try await cluster.remove(nodeID: body.node_id) }
            }
        }
        router.get("/cluster/v1/status") { request, context in
            if let refusal = Self.verifyEmpty(request, signature) { return Self.refused(refusal) }
            return Self.jsonResponse(.ok, await cluster.status())
        }
        router.post("/cluster/v1/canary") { request, context in
            _ = try await request.body.collect(upTo: Self.bodyBytesMax)
            if let refusal = Self.verifyEmpty(request, signature) { return Self.refused(refusal) }
            do {
                return Self.jsonResponse(.ok, try await cluster.canary())
            } catch {
                return Self.failure(.serviceUnavailable, "cluster_unavailable", "\(error)")
            }
        }
        router.get("/cluster/v1/canaries/:index") { request, context in
            if let refusal = Self.verifyEmpty(request, signature) { return Self.refused(refusal) }
            guard let index = context.parameters.get("index", as: UInt64.self) else {
                return Self.failure(.badRequest, "invalid_request", "the index must be a whole number")
            }
            guard let nonce = await cluster.canary(at: index) else {
                return Self.failure(.notFound, "not_found", "no canary at index \(index) on this node (not applied, not a canary, or older than the retained ones)")
            }
            return Self.jsonResponse(.ok, ["index": index, "nonce": nonce])
        }
    }

    private static func verifyEmpty(_ request: Request, _ signature: ClusterSignature) -> ClusterSignature.Refusal? {
        signature.verify(
            request.headers[HTTPField.Name(ClusterSignature.headerName)!], method: request.method.rawValue,
            path: request.uri.path, body: [])
    }

    private static func authenticated<Body: Decodable>(
        _ request: Request, _ context: Context, _ signature: ClusterSignature,
        _ handle: (Body) async throws -> Response
    ) async throws -> Response {
        let buffer = try await request.body.collect(upTo: bodyBytesMax)
        let bytes = Array(buffer.readableBytesView)
        if let refusal = signature.verify(
            request.headers[HTTPField.Name(ClusterSignature.headerName)!], method: request.method.rawValue,
            path: request.uri.path, body: bytes) {
            return refused(refusal)
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(bytes)) else {
            return failure(.badRequest, "invalid_request", "the body must be a JSON object with the documented fields")
        }
        return try await handle(body)
    }

    private static func answer(_ body: () async throws -> ClusterMembership) async throws -> Response {
        do {
            return jsonResponse(.ok, try await body())
        } catch let refused as any ClusterOperationFailure {
            guard let status = refused.clientStatus else { return failure(.serviceUnavailable, "cluster_unavailable", refused.description) }
            return failure(status, status == .notFound ? "not_found" : status == .conflict ? "conflict" : "invalid_request", refused.description)
        } catch {
            return failure(.serviceUnavailable, "cluster_unavailable", "\(error)")
        }
    }

    static func refused(_ refusal: ClusterSignature.Refusal) -> Response {
        let message = switch refusal {
        case .missing: "this endpoint needs the \(ClusterSignature.headerName) header signed with the cluster secret"
        case .malformed: "the \(ClusterSignature.headerName) header is malformed"
        case .expired: "the signature's time is too far from this node's clock (check NTP)"
        case .invalid: "the signature does not match: is cluster.secret the same on both nodes?"
        }
        return failure(.unauthorized, "unauthorized", message)
    }

    static func failure(_ status: HTTPResponse.Status, _ type: String, _ message: String) -> Response {
        jsonResponse(status, Failure(error: Detail(type: type, message: message)))
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable & Sendable) -> Response {
        (try? JSONResponse(status, value).encoded()) ?? Response(status: .internalServerError)
    }
}
