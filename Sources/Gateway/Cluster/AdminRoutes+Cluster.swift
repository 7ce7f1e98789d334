import Foundation
import HTTPTypes
import Hummingbird
import Policy

extension AdminRoutes {
    /// The pool's operations under `/admin/api/cluster`, what `clusterctl` calls: any node
    /// answers, and carries an operation on another node to it over the peer transport.
    var clusterEndpoints: [AdminEndpoint] {
        [
            AdminEndpoint(
                method: .get, path: "/admin/api/cluster", scope: .adminRead, tag: "Cluster",
                summary: "Members, roles, leader, term, commit and applied index, lag and health of every node",
                response: ClusterSchemas.overviewSchema,
                handler: { call in try .json(await self.clusterAdmin().overview()) }),
            operation("/admin/api/cluster/drain", "Drain a node: not ready, in-flight requests finish, quota rights and leadership handed on, then it leaves the voting set",
                      ClusterSchemas.drainSchema) { admin, node in
                guard let node else { throw Self.noNode }
                return try .json(try await admin.drain(node: node))
            },
            operation("/admin/api/cluster/transfer-leader", "Hand leadership to a voter (default: the most caught-up other one)",
                      .object([.init("leader", .integer(), required: true)]), nodeRequired: false) { admin, node in
                try .json(["leader": try await admin.transferLeader(to: node)])
            },
            AdminEndpoint(
                method: .post, path: "/admin/api/cluster/join", scope: .adminSuper, tag: "Cluster",
                summary: "Add a node as a learner (promoted to voter once caught up); start it with --join",
                body: ClusterJoinBody.schema, response: ClusterSchemas.membershipSchema,
                handler: { call in
                    let body = try await call.body(ClusterJoinBody.self, schema: ClusterJoinBody.schema)
                    guard let node = try ClusterNodeBody(node: body.node).id else { throw Self.noNode }
                    guard let address = body.peer_address, address.hasPrefix("tcp://"), address.contains(":") else {
                        throw AdminError.invalid("peer_address: the new node's peer.listen address, tcp://host:port", field: "peer_address")
                    }
                    let admin = try self.clusterAdmin()
                    do {
                        return try .json(try await admin.join(node: node, peerAddress: address))
                    } catch {
                        throw AdminError.cluster(error)
                    }
                }),
            operation("/admin/api/cluster/remove", "Remove a node at once (for a dead one); its unused quota rights go to the voters",
                      ClusterSchemas.membershipSchema) { admin, node in
                guard let node else { throw Self.noNode }
                return try .json(try await admin.remove(node: node))
            },
            operation("/admin/api/cluster/snapshot", "Make a node snapshot its state and compact its log now",
                      .object([.init("node_id", .integer(), required: true), .init("snapshot_index", .integer(), required: true)])) { admin, node in
                guard let node else { throw Self.noNode }
                return try .json(["node_id": node, "snapshot_index": try await admin.snapshot(node: node)])
            },
            operation("/admin/api/cluster/backup", "Write a RocksDB checkpoint of a node's state on its own disk (weir restore makes a node of it)",
                      .object([.init("node_id", .integer(), required: true), .init("path", .text(), required: true), .init("applied", .integer(), required: true)])) { admin, node in
                guard let node else { throw Self.noNode }
                return try .json(try await admin.backup(node: node))
            },
        ]
    }

    static var noNode: AdminError { AdminError.invalid(#"name the node: {"node": "n3"}"#, field: "node") }

    func clusterAdmin() throws -> any ClusterAdmin {
        guard let cluster else { throw AdminError(.serviceUnavailable, "unavailable", "cluster operations are not wired on this node") }
        return cluster
    }

    private func operation(
        _ path: String, _ summary: String, _ response: Schema, nodeRequired: Bool = true,
        _ run: @escaping @Sendable (any ClusterAdmin, UInt64?) async throws -> Response
    ) -> AdminEndpoint {
        AdminEndpoint(
            method: .post, path: path, scope: .adminSuper, tag: "Cluster", summary: summary,
            body: nodeRequired ? ClusterNodeBody.requiredSchema : ClusterNodeBody.schema, response: response,
            handler: { call in
                let body = try await call.optionalBody(ClusterNodeBody.self, schema: ClusterNodeBody.schema)
                let admin = try self.clusterAdmin()
                do {
                    return try await run(admin, try body?.id)
                } catch let error as AdminError {
                    throw error
                } catch {
                    throw AdminError.cluster(error)
                }
            })
    }

}

/// The body of a cluster operation: the node it is for.
struct ClusterNodeBody: Decodable {
    var node: String?

    static let schema = Schema.object([.init("node", .nodeID("a node id: 3 or n3"))])
    /// The same, for operations that cannot do without the node.
    static let requiredSchema = Schema.object([.init("node", .nodeID("a node id: 3 or n3"), required: true)])

    var id: UInt64? {
        get throws {
            guard let node else { return nil }
            let digits = node.hasPrefix("n") ? String(node.dropFirst()) : node
            guard let id = UInt64(digits), id > 0 else { throw AdminError.invalid("node: '\(node.prefix(40))' is not a node id (3 or n3)", field: "node") }
            return id
        }
    }
}


/// The body of a join: the new node and its peer address.
struct ClusterJoinBody: Decodable {
    var node: String?
    var peer_address: String?

    static let schema = Schema.object([
        .init("node", .nodeID("the new node's id: 4 or n4"), required: true),
        .init("peer_address", .constrained(.string(description: "where peers reach it: tcp://host:port"), .init(pattern: "^tcp://[^\\s/]+:[0-9]{1,5}$", maxLength: 1024)), required: true),
    ])
}

/// The cluster endpoints' answers, as documented.
enum ClusterSchemas {
    static let reportSchema = Schema.object([
        .init("node_id", .integer(), required: true), .init("role", .string(allowed: ["follower", "candidate", "preCandidate", "leader"]), required: true),
        .init("leader", .integer(), required: true), .init("term", .integer(), required: true), .init("commit", .integer(), required: true),
        .init("applied", .integer(), required: true), .init("snapshot_index", .integer(), required: true),
        .init("ready", .boolean(), required: true), .init("waiting_for", .array(.text()), required: true),
        .init("version", .text(), required: true), .init("in_flight", .integer(description: "data-plane requests being served"), required: true),
    ])

    static let membershipSchema = Schema.object([
        .init("voters", .array(.integer()), required: true), .init("learners", .array(.integer()), required: true),
        .init("addresses", .map(.text(), description: "peer address by node id"), required: true),
    ])

    static let overviewSchema = Schema.object([
        .init("answered_by", .integer(), required: true), .init("leader", .integer(), required: true), .init("term", .integer(), required: true),
        .init("members", .array(.object([
            .init("node_id", .integer(), required: true), .init("membership", .string(allowed: ["voter", "learner"]), required: true),
            .init("peer_address", .text(), nullable: true), .init("reachable", .boolean(), required: true),
            .init("report", reportSchema, nullable: true), .init("lag", .integer(description: "the leader's commit minus its applied index"), nullable: true),
        ])), required: true),
    ])

    static let drainSchema = Schema.object([
        .init("node_id", .integer(), required: true), .init("in_flight_left", .integer(), required: true),
        .init("quota_grants_handed_back", .integer(), required: true), .init("leadership_handed_to", .integer(), nullable: true),
        .init("membership", membershipSchema, required: true),
    ])
}
