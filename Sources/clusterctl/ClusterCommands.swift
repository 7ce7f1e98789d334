import ArgumentParser
import Foundation
import NIOHTTP1

/// A node named by its id: `3` or `n3`.
struct NodeName: ExpressibleByArgument {
    let id: UInt64
    init?(argument: String) {
        let digits = argument.hasPrefix("n") ? String(argument.dropFirst()) : argument
        guard let id = UInt64(digits), id > 0 else { return nil }
        self.id = id
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Members, roles, leader, term, commit and applied index per node, lag and health.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let answer = try await AdminAPI(connection).call(.GET, "/admin/api/cluster")
        guard connection.output == .table, let overview = answer as? [String: Any] else { return Output.json(answer) }
        print("leader n\(Output.cell(overview["leader"]))  term \(Output.cell(overview["term"]))  (asked n\(Output.cell(overview["answered_by"])))")
        let rows = (overview["members"] as? [[String: Any]] ?? []).map { member -> [String] in
            let report = member["report"] as? [String: Any]
            let health: String = if member["reachable"] as? Bool != true { "unreachable" }
                else if report?["ready"] as? Bool == true { "ready" }
                else { "waiting: " + Output.cell(report?["waiting_for"]) }
            return ["n\(Output.cell(member["node_id"]))", Output.cell(member["membership"]), Output.cell(report?["role"]), Output.cell(report?["term"]),
                    Output.cell(report?["commit"]), Output.cell(report?["applied"]), Output.cell(member["lag"]), health, Output.cell(member["peer_address"])]
        }
        Output.table(["node", "member", "role", "term", "commit", "applied", "lag", "health", "peer"], rows)
        for member in overview["members"] as? [[String: Any]] ?? [] {
            let report = member["report"] as? [String: Any]
            for transfer in report?["snapshot_transfers"] as? [[String: Any]] ?? [] where transfer["direction"] as? String == "sending" {
                print(Self.describe(transfer, from: member["node_id"]))
            }
        }
    }

    /// `snapshot n1 → n4: 12.3 of 40.1 MB (31 %), 8 s left`.
    static func describe(_ transfer: [String: Any], from node: Any?) -> String {
        let done = (transfer["bytes_done"] as? NSNumber)?.doubleValue ?? 0
        let total = max((transfer["bytes_total"] as? NSNumber)?.doubleValue ?? 0, 1)
        let left = (transfer["seconds_left"] as? NSNumber).map { String(format: ", %.0f s left", $0.doubleValue) } ?? ""
        let progress = String(format: "%.1f of %.1f MB (%.0f %%)", done / 1e6, total / 1e6, 100 * done / total)
        return "snapshot n\(Output.cell(node)) → n\(Output.cell(transfer["peer"])): \(progress)\(left)"
    }
}

/// An operation on one node through `POST /admin/api/cluster/<verb>`.
protocol NodeOperation: AsyncParsableCommand {
    var connection: Connection { get }
    static var verb: String { get }
    var target: UInt64? { get }
    /// Seconds to wait for the answer, when longer than the connection's.
    var waitSeconds: Int64? { get }
}

extension NodeOperation {
    var waitSeconds: Int64? { nil }

    /// The least a drain or a backup is given to answer: each waits on the node (in-flight
    /// requests, a checkpoint) longer than an ordinary call.
    static var longOperationSeconds: Int64 { 120 }

    func run() async throws {
        let body: [String: Any] = target.map { ["node": String($0)] } ?? [:]
        let answer = try await AdminAPI(connection, timeoutSeconds: waitSeconds).call(.POST, "/admin/api/cluster/\(Self.verb)", body: body)
        guard connection.output == .table, let object = answer as? [String: Any] else { return Output.json(answer) }
        Output.table(["field", "value"], object.keys.sorted().map { [$0, Output.cell(object[$0])] })
    }
}

struct Drain: NodeOperation {
    static let configuration = CommandConfiguration(
        abstract: "Drain a node: /health/ready turns 503, in-flight requests finish, quota rights are handed back, leadership moves away, then it leaves the voting set.",
        discussion: "Stop the node's process once this returns. It waits for the node's drain.lb_grace_ms and drain.timeout_ms.")
    static let verb = "drain"
    @OptionGroup var connection: Connection
    @Argument(help: "The node to drain (3 or n3).") var node: NodeName
    var target: UInt64? { node.id }
    var waitSeconds: Int64? { max(connection.timeoutSeconds, Self.longOperationSeconds) }
}

struct Remove: NodeOperation {
    static let configuration = CommandConfiguration(abstract: "Remove a node at once (for a dead one); its unused quota rights go to the voters.")
    static let verb = "remove"
    @OptionGroup var connection: Connection
    @Argument(help: "The node to remove (3 or n3).") var node: NodeName
    var target: UInt64? { node.id }
}

struct TransferLeader: NodeOperation {
    static let configuration = CommandConfiguration(commandName: "transfer-leader", abstract: "Hand leadership to a voter (default: the most caught-up other one).")
    static let verb = "transfer-leader"
    @OptionGroup var connection: Connection
    @Argument(help: "The new leader (3 or n3).") var node: NodeName?
    var target: UInt64? { node?.id }
}

struct Snapshot: NodeOperation {
    static let configuration = CommandConfiguration(abstract: "Make a node snapshot its state and compact its log now.")
    static let verb = "snapshot"
    @OptionGroup var connection: Connection
    @Argument(help: "The node (3 or n3).") var node: NodeName
    var target: UInt64? { node.id }
}

struct Backup: NodeOperation {
    static let configuration = CommandConfiguration(
        abstract: "Write a RocksDB checkpoint of a node's state on that node's disk (DATA_DIR/backups/…).")
    static let verb = "backup"
    @OptionGroup var connection: Connection
    @Argument(help: "The node (3 or n3).") var node: NodeName
    var target: UInt64? { node.id }
    var waitSeconds: Int64? { max(connection.timeoutSeconds, Self.longOperationSeconds) }
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a new node as a learner; the leader promotes it to voter once it has caught up.",
        discussion: "Then start the node with --join (the command is printed). Without --peer-address, only the command is printed: the node adds itself when it starts.")
    @OptionGroup var connection: Connection
    @Argument(help: "The new node's id (4 or n4).") var node: NodeName
    @Option(help: "The new node's peer address (its peer.listen as others reach it): tcp://host:port.") var peerAddress: String?

    func run() async throws {
        let (address, _) = try connection.resolved()
        if let peerAddress {
            let answer = try await AdminAPI(connection).call(.POST, "/admin/api/cluster/join", body: ["node": String(node.id), "peer_address": peerAddress])
            if connection.output == .json { return Output.json(answer) }
            print("n\(node.id) is a learner now; start it:")
        } else {
            print("Start the new node with the cluster's secret and key files, pointing it at any member:")
        }
        print("""

              weir serve --node-id \(node.id) --data-dir /var/lib/weir --peer-listen \(peerAddress ?? "tcp://0.0.0.0:7946") --join \(address)

            It catches up as a learner and the leader promotes it to voter; clusterctl status shows both.
            """)
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a node is made from a backup: weir restore runs on the new node's machine, then the node joins.")
    @OptionGroup var connection: Connection
    @Argument(help: "The backup's directory (clusterctl backup printed it).") var backup: String
    @Argument(help: "The new node's id (4 or n4).") var node: NodeName

    func run() async throws {
        let (address, _) = try connection.resolved()
        print("""
            On the new node's machine (copy the backup there first):

              weir restore --from \(backup) --data-dir /var/lib/weir
              weir serve --node-id \(node.id) --data-dir /var/lib/weir --peer-listen tcp://0.0.0.0:7946 --join \(address)

            The usage history in the backup is kept; the node joins under its own id and receives the
            cluster's current policy from the leader. If it replaces a lost node, remove that one first:
              clusterctl remove <lost node>
            """)
    }
}

struct Reseal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seal every provider credential again with the current key-encryption key (step 2 of a KEK rotation, docs/operations.md).")
    @OptionGroup var connection: Connection

    func run() async throws {
        let answer = try await AdminAPI(connection).call(.POST, "/admin/api/credentials/reseal", body: [String: Any]())
        guard connection.output == .table, let object = answer as? [String: Any] else { return Output.json(answer) }
        Output.table(["field", "value"], object.keys.sorted().map { [$0, Output.cell(object[$0])] })
        if let unreadable = object["unreadable"] as? [String], !unreadable.isEmpty {
            print("no configured key opens \(unreadable.joined(separator: ", ")): enter their secrets again with clusterctl apply credentials")
        }
    }
}
