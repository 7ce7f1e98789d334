import Foundation
import NodeTestSupport

/// The command lines of a static cluster of real `weir` processes: free loopback ports
/// for HTTP and peers, a data directory each under one temporary root, a shared secret,
/// and `peer.peers` naming the first `members` nodes. Extra nodes (`size > members`) get
/// ports too, for nodes that join later.
struct ProcessClusterLayout {
    let root: String
    let http: [Int]
    let peer: [Int]
    let environment: [String: String]
    /// `peer.peers`: `1=tcp://127.0.0.1:…,2=…` for the static members.
    let peers: String

    init(_ name: String, secret: String, size: Int = 3, members: Int = 3) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("weir-\(name)-\(UUID().uuidString)").path
        http = try (0..<size).map { _ in try freeLoopbackPort() }
        let peer = try (0..<size).map { _ in try freeLoopbackPort() }
        self.peer = peer
        peers = (1...members).map { "\($0)=tcp://127.0.0.1:\(peer[$0 - 1])" }.joined(separator: ",")
        environment = ["WEIR_CLUSTER_SECRET": secret, "WEIR_CLUSTER_ID": "\(name)-test"]
    }

    /// `weir serve` for node `id`, without membership flags.
    func arguments(_ id: Int) -> [String] {
        ["serve", "--node-id", "\(id)", "--data-dir", "\(root)/\(id)", "--http-port", "\(http[id - 1])",
         "--peer-listen", "tcp://127.0.0.1:\(peer[id - 1])"]
    }

    /// `weir serve` for a static member's first start.
    func bootstrapArguments(_ id: Int) -> [String] { arguments(id) + ["--set", "peer.peers=\(peers)", "--bootstrap"] }

    func removeRoot() { try? FileManager.default.removeItem(atPath: root) }
}
