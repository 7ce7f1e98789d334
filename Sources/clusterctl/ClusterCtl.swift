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
        abstract: "Operate a Weir cluster through any node's HTTP API.",
        subcommands: [Health.self])
}

/// Where to reach a node: `--address`, else `$WEIR_ADDRESS`, else the local default.
struct NodeAddress: ParsableArguments {
    @Option(help: "A node's base URL (default: $WEIR_ADDRESS, else http://127.0.0.1:8080).")
    var address: String?

    @Option(help: "Seconds to wait for each answer.") var timeoutSeconds: Int64 = 5

    var baseURL: String {
        let raw = address ?? ProcessInfo.processInfo.environment["WEIR_ADDRESS"] ?? "http://127.0.0.1:8080"
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether a node is live and ready (what the load balancer sees).")

    @OptionGroup var node: NodeAddress
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output = "table"

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("--output must be table or json") }
    }

    func run() async throws {
        let client = HTTPClient.shared
        var results: [String: Any] = [:]
        var healthy = true
        for probe in ["live", "ready"] {
            let url = "\(node.baseURL)/health/\(probe)"
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(node.timeoutSeconds))
                let body = try await response.body.collect(upTo: 1 << 20)
                let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) ?? [:]
                results[probe] = ["status_code": Int(response.status.code), "body": json]
                healthy = healthy && response.status == .ok
            } catch {
                results[probe] = ["error": "cannot reach \(url): \(error)"]
                healthy = false
            }
        }
        if output == "json" {
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
