import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `clusterctl`: operates a Weir node pool through any node's HTTP API.
@main
struct ClusterCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusterctl",
        abstract: "Operate a Weir cluster through any node's admin API.",
        discussion: """
            The node and admin token come from --address and --token, else WEIR_ADDRESS and WEIR_TOKEN, else the
            config file (--config, $WEIR_CONFIG, or ~/.config/weir/clusterctl.yaml: address, token or token_file).
            Nodes are named by their id (3 or n3). -o json prints what the node answered.
            """,
        subcommands: [
            Status.self, Health.self, Join.self, Drain.self, Remove.self, TransferLeader.self, Snapshot.self, Backup.self, Restore.self, Reseal.self,
            Get.self, Apply.self, Delete.self, Revoke.self,
        ])
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether a node is live and ready (what the load balancer sees).")

    @OptionGroup var connection: Connection

    func run() async throws {
        let client = HTTPClient.shared
        var results: [String: Any] = [:]
        var healthy = true
        for probe in ["live", "ready"] {
            let url = "\(try connection.resolved().address)/health/\(probe)"
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(connection.timeoutSeconds))
                let body = try await response.body.collect(upTo: 1 << 20)
                let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) ?? [:]
                results[probe] = ["status_code": Int(response.status.code), "body": json]
                healthy = healthy && response.status == .ok
            } catch {
                results[probe] = ["error": "cannot reach \(url): \(error)"]
                healthy = false
            }
        }
        if connection.output == .json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("PROBE  RESULT")
            for probe in ["live", "ready"] {
                let entry = results[probe] as? [String: Any] ?? [:]
                let detail = entry["error"] as? String ?? "HTTP \(entry["status_code"] ?? "?") \(describe(entry["body"]))"
                print(probe.padding(toLength: 7, withPad: " ", startingAt: 0) + detail)
            }
        }
        if !healthy { throw ExitCode(1) }
    }

    private func describe(_ body: Any?) -> String {
        guard let body, let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
