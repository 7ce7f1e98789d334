import Foundation
import Gateway
import Logging
import QuotaCRDT

/// One configuration key: its dotted name, its environment variable, its help text, how
/// to show the current value and how to apply a new one.
struct ConfigurationKey: Sendable {
    let name: String
    let help: String
    let show: @Sendable (NodeConfiguration) -> String
    let apply: @Sendable (inout NodeConfiguration, String) throws(ExpectedValue) -> Void

    /// `http.port` → `WEIR_HTTP_PORT`.
    var environmentVariable: String {
        "WEIR_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// What a bad value should have looked like.
    struct ExpectedValue: Error {
        let expected: String
    }
}

extension ConfigurationKey {
    /// A key holding an integer in `range`.
    static func integer(
        _ name: String, help: String, _ field: any WritableKeyPath<NodeConfiguration, Int> & Sendable,
        _ range: ClosedRange<Int>, _ expected: String
    ) -> ConfigurationKey {
        ConfigurationKey(
            name: name, help: help,
            show: { "\($0[keyPath: field])" },
            apply: { config, value throws(ExpectedValue) in config[keyPath: field] = try parseInteger(value, range, expected) })
    }

    /// Every key, in the order `weir init` writes them.
    static let all: [ConfigurationKey] = [
        ConfigurationKey(
            name: "node.id", help: "this node's id: unique in the cluster, n1, n2 … (or 1, 2 …)",
            show: { "\($0.nodeID)" },
            apply: { config, value throws(ExpectedValue) in config.nodeID = try parseNodeID(value) }),
        ConfigurationKey(
            name: "cluster.id", help: "the cluster's name; peers of other clusters are refused",
            show: { $0.clusterID },
            apply: { config, value throws(ExpectedValue) in
                guard !value.isEmpty, value.utf8.count <= 64,
                      value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
                else { throw ExpectedValue(expected: "1 to 64 letters, digits, '-', '_' or '.'") }
                config.clusterID = value
            }),
        ConfigurationKey(
            name: "cluster.secret",
            help: "shared secret (16+ characters) that authenticates peer messages; the same on every node",
            show: { $0.clusterSecret == nil ? "" : "<redacted>" },
            apply: { config, value throws(ExpectedValue) in config.clusterSecret = try parseSecret(value) }),
        ConfigurationKey(
            name: "cluster.secret_file", help: "a file holding cluster.secret (read at start)",
            show: { _ in "" },
            apply: { config, value throws(ExpectedValue) in
                guard let contents = try? String(contentsOfFile: value, encoding: .utf8) else {
                    throw ExpectedValue(expected: "a readable file holding the cluster secret")
                }
                config.clusterSecret = try parseSecret(contents.trimmingCharacters(in: .whitespacesAndNewlines))
            }),
        ConfigurationKey(
            name: "cluster.accepted_secret_file",
            help: "a file holding another cluster secret accepted from peers during a rotation (docs/operations.md); messages are sent with cluster.secret",
            show: { $0.acceptedClusterSecret == nil ? "" : "<redacted>" },
            apply: { config, value throws(ExpectedValue) in
                guard let contents = try? String(contentsOfFile: value, encoding: .utf8) else {
                    throw ExpectedValue(expected: "a readable file holding the other cluster secret")
                }
                config.acceptedClusterSecret = try parseSecret(contents.trimmingCharacters(in: .whitespacesAndNewlines))
            }),
        ConfigurationKey(
            name: "cluster.kek_file",
            help: "file with the 32-byte key-encryption key (64 hex digits) sealing provider secrets; the same on every node (default: a lone node generates DATA_DIR/kek.key)",
            show: { $0.kekFile ?? "" },
            apply: { config, value throws(ExpectedValue) in
                guard FileManager.default.isReadableFile(atPath: value) else { throw ExpectedValue(expected: "a readable key file") }
                config.kekFile = value
            }),
        ConfigurationKey(
            name: "cluster.accepted_kek_file",
            help: "another key-encryption key file that opens sealed provider secrets during a rotation (docs/operations.md); new secrets are sealed with cluster.kek_file",
            show: { $0.acceptedKEKFile ?? "" },
            apply: { config, value throws(ExpectedValue) in
                guard FileManager.default.isReadableFile(atPath: value) else { throw ExpectedValue(expected: "a readable key file") }
                config.acceptedKEKFile = value
            }),
        ConfigurationKey(
            name: "cluster.join", help: "HTTP URL of any member to join (used only by a node with no Raft state yet)",
            show: { $0.joinURL ?? "" },
            apply: { config, value throws(ExpectedValue) in config.joinURL = try parseHTTPURL(value, "an http:// or https:// URL of a member") }),
        ConfigurationKey(
            name: "cluster.bootstrap", help: "true on a static cluster's first start: form a new cluster with peer.peers",
            show: { "\($0.bootstrap)" },
            apply: { config, value throws(ExpectedValue) in config.bootstrap = try parseBool(value) }),
        .integer(
            "cluster.join_timeout_seconds", help: "how long a joining node keeps trying",
            \.joinTimeoutSeconds, 1...3600, "1 to 3600 seconds"),
        .integer(
            "cluster.bootstrap_probe_ms", help: "how long a node with no Raft state that would bootstrap waits for the rest of peer.peers once a quorum of them answered",
            \.bootstrapProbeMilliseconds, 0...600_000, "0 to 600000 milliseconds"),
        ConfigurationKey(
            name: "data.dir", help: "directory of this node's database",
            show: { $0.dataDirectory },
            apply: { config, value throws(ExpectedValue) in
                guard !value.isEmpty else { throw ExpectedValue(expected: "a directory path") }
                config.dataDirectory = value
            }),
        ConfigurationKey(
            name: "http.host", help: "address the HTTP server binds (0.0.0.0 for every interface)",
            show: { $0.httpHost },
            apply: { config, value throws(ExpectedValue) in
                guard !value.isEmpty, !value.contains(" "), !value.contains("/") else {
                    throw ExpectedValue(expected: "a host name or IP address")
                }
                config.httpHost = value
            }),
        ConfigurationKey(
            name: "http.port", help: "HTTP port (0 picks a free port and logs it)",
            show: { "\($0.httpPort)" },
            apply: { config, value throws(ExpectedValue) in config.httpPort = try parseInteger(value, 0...65535, "a port number 0-65535") }),
        .integer(
            "http.connections_max", help: "open client connections a node accepts; one more is answered 503 with Retry-After",
            \.httpLimits.connectionsMax, 1...1_000_000, "1 to 1000000 connections"),
        .integer(
            "http.in_flight_max", help: "model requests a node serves at once; one more is answered 503 with Retry-After",
            \.httpLimits.inFlightMax, 1...1_000_000, "1 to 1000000 requests"),
        .integer(
            "http.idle_timeout_seconds", help: "how long a client connection may sit idle, or take to send a request head, before it is closed",
            \.httpLimits.idleTimeoutSeconds, 1...3_600, "1 to 3600 seconds"),
        .integer(
            "http.body_timeout_seconds", help: "how long reading one request body may take before the connection is closed",
            \.httpLimits.bodyTimeoutSeconds, 1...3_600, "1 to 3600 seconds"),
        .integer(
            "http.header_bytes_max", help: "the most bytes of header fields one request may send",
            \.httpLimits.headerBytesMax, 1_024...1_048_576, "1024 to 1048576 bytes"),
        ConfigurationKey(
            name: "peer.listen", help: "where this node listens for peers, tcp://host:port",
            show: { $0.peerListen },
            apply: { config, value throws(ExpectedValue) in config.peerListen = try parseTCPAddress(value) }),
        ConfigurationKey(
            name: "peer.advertise", help: "the address peers use to reach this node (default: peer.listen with its bound port)",
            show: { $0.peerAdvertise ?? "" },
            apply: { config, value throws(ExpectedValue) in config.peerAdvertise = try parseTCPAddress(value) }),
        ConfigurationKey(
            name: "peer.peers", help: "the other members as ID=tcp://host:port (n2=tcp://…), comma-separated (a YAML list also works)",
            show: { $0.peers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") },
            apply: { config, value throws(ExpectedValue) in config.peers = try parsePeers(value) }),
        ConfigurationKey(
            name: "peer.payload_bytes_max", help: "largest peer message accepted, in bytes",
            show: { "\($0.peerPayloadBytesMax)" },
            apply: { config, value throws(ExpectedValue) in
                config.peerPayloadBytesMax = try parseInteger(value, 1024...(256 << 20), "1024 to 268435456 bytes")
            }),
        .integer(
            "raft.tick_milliseconds", help: "real time of one Raft tick; elections take 10 to 20 ticks",
            \.raftTickMilliseconds, 5...1000, "5 to 1000 milliseconds"),
        .integer(
            "raft.snapshot_entries", help: "take a Raft snapshot after this many applied entries",
            \.raftSnapshotEntries, 10...10_000_000, "10 to 10000000 entries"),
        .integer(
            "raft.compaction_margin_entries", help: "log entries kept behind a snapshot for slow followers",
            \.raftCompactionMarginEntries, 0...10_000_000, "0 to 10000000 entries"),
        .integer(
            "raft.snapshot_chunk_bytes", help: "a larger snapshot goes to a follower in chunks of this many bytes, each acknowledged",
            \.raftSnapshotChunkBytes, 4096...(256 << 20), "4096 to 268435456 bytes, and below peer.payload_bytes_max"),
        .integer(
            "raft.snapshot_chunk_timeout_ms", help: "how long the leader waits for a follower to answer one snapshot chunk",
            \.raftSnapshotChunkTimeoutMilliseconds, 100...600_000, "100 to 600000 ms"),
        .integer(
            "raft.snapshot_bytes_max", help: "the largest snapshot this node accepts from a leader, in bytes",
            \.raftSnapshotBytesMax, (1 << 20)...(1 << 32) - 1, "1048576 to 4294967295 bytes"),
        .integer(
            "raft.ready_lag_entries_max", help: "how far behind the leader's commit index /health/ready still answers ready",
            \.raftReadyLagEntriesMax, 0...1_000_000, "0 to 1000000 entries"),
        .integer(
            "raft.ready_leaderless_grace_ms", help: "how long a node that lost its leader still answers ready while an election runs",
            \.raftReadyLeaderlessGraceMilliseconds, 0...600_000, "0 to 600000 ms"),
        .integer(
            "quota.gossip_interval_ms", help: "how often quota usage deltas go to every peer",
            \.quota.gossipIntervalMilliseconds, 5...10_000, "5 to 10000 ms"),
        .integer(
            "quota.anti_entropy_interval_ms", help: "how often the full quota state goes to every peer instead of deltas",
            \.quota.antiEntropyIntervalMilliseconds, 100...600_000, "100 to 600000 ms"),
        .integer(
            "quota.rights_timeout_ms", help: "how long a request for quota rights waits for a peer's answer",
            \.quota.rightsTimeoutMilliseconds, 10...10_000, "10 to 10000 ms"),
        .integer(
            "quota.rights_wait_ms", help: "how long an admission may wait for rights from peers before it is refused",
            \.quota.rightsWaitMilliseconds, 0...10_000, "0 to 10000 ms"),
        .integer(
            "quota.membership_delay_ms", help: "a change of voters changes the quota split of windows starting this long after it was scheduled",
            \.quota.membershipDelayMilliseconds, 0...3_600_000, "0 to 3600000 ms"),
        .integer(
            "quota.window_grace_ms", help: "how long ended quota windows are kept before they are dropped",
            \.quota.windowGraceMilliseconds, 0...86_400_000, "0 to 86400000 ms"),
        ConfigurationKey(
            name: "providers.from_environment",
            help: "on a cluster's first start, make OPENAI_API_KEY, ANTHROPIC_API_KEY and OLLAMA_BASE_URL credentials with deployments and prices",
            show: { "\($0.providersFromEnvironment)" },
            apply: { config, value throws(ExpectedValue) in config.providersFromEnvironment = try parseBool(value) }),
        ConfigurationKey(
            name: "providers.demo_upstream",
            help: "an OpenAI-compatible base URL (a mockllm) registered on first start when no provider key is in the environment",
            show: { $0.demoUpstream ?? "" },
            apply: { config, value throws(ExpectedValue) in
                config.demoUpstream = try parseHTTPURL(value, "an http:// or https:// base URL, such as http://127.0.0.1:9999/v1")
            }),
        ConfigurationKey(
            name: "usage.recording", help: "keep a usage event per request (turn off only to measure what recording costs)",
            show: { "\($0.usageRecording)" },
            apply: { config, value throws(ExpectedValue) in config.usageRecording = try parseBool(value) }),
        .integer("usage.retention_days", help: "how long usage events are kept", \.usageRetentionDays, 1...3650, "1 to 3650 days"),
        .integer(
            "usage.rollup_retention_days", help: "how long usage summed per minute is kept", \.usageRollupRetentionDays, 1...3650, "1 to 3650 days"),
        .integer(
            "drain.lb_grace_ms", help: "how long a draining node keeps serving after /health/ready turns 503 (longer than the load balancer's fall time)",
            \.drainGraceMilliseconds, 0...600_000, "0 to 600000 ms"),
        .integer("drain.timeout_ms", help: "how long a drain waits for in-flight requests to finish", \.drainTimeoutMilliseconds, 0...3_600_000, "0 to 3600000 ms"),
        .integer(
            "upstream.connections_per_host", help: "HTTP/1.1 connections this node keeps open to one provider host at most",
            \.upstreamLimits.connectionsPerHost, UpstreamLimits.connectionsPerHostRange, "1 to 65536 connections"),
        .integer(
            "upstream.queued_per_host",
            help: "provider calls that may wait for a connection to one host; past them a call gets 503 with Retry-After",
            \.upstreamLimits.queuedPerHost, UpstreamLimits.queuedPerHostRange, "0 to 1000000 calls"),
        ConfigurationKey(
            name: "log.level", help: "trace, debug, info, notice, warning, error or critical",
            show: { $0.logLevel.rawValue },
            apply: { config, value throws(ExpectedValue) in
                guard let level = Logger.Level(rawValue: value.lowercased()) else {
                    throw ExpectedValue(expected: "one of trace, debug, info, notice, warning, error, critical")
                }
                config.logLevel = level
            }),
        .integer(
            "shutdown.grace_milliseconds", help: "how long a graceful shutdown may take before services are cancelled",
            \.shutdownGraceMilliseconds, 100...600_000, "100 to 600000 milliseconds"),
    ]

    static func named(_ name: String) -> ConfigurationKey? { all.first { $0.name == name } }
}

// MARK: - Value parsers

private func parseInteger(_ value: String, _ range: ClosedRange<Int>, _ expected: String) throws(ConfigurationKey.ExpectedValue) -> Int {
    guard let number = Int(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
        throw ConfigurationKey.ExpectedValue(expected: expected)
    }
    return number
}

/// An http:// or https:// URL; `expected` says what kind when it is not one.
private func parseHTTPURL(_ value: String, _ expected: String) throws(ConfigurationKey.ExpectedValue) -> String {
    guard value.hasPrefix("http://") || value.hasPrefix("https://"), value.count > 8 else { throw ConfigurationKey.ExpectedValue(expected: expected) }
    return value
}

/// true / yes / 1 or false / no / 0.
private func parseBool(_ value: String) throws(ConfigurationKey.ExpectedValue) -> Bool {
    switch value.lowercased() {
    case "true", "yes", "1": return true
    case "false", "no", "0": return false
    default: throw ConfigurationKey.ExpectedValue(expected: "true or false")
    }
}

/// A node id: `n1`, `n2` … or the bare number (`n3` is node 3).
func parseNodeID(_ value: String) throws(ConfigurationKey.ExpectedValue) -> UInt64 {
    var text = Substring(value.trimmingCharacters(in: .whitespaces))
    if text.first == "n" { text = text.dropFirst() }
    // The largest id is the quota pool's (`QuotaLedger.poolMember`), no node's.
    guard let id = UInt64(text), id > 0, id < QuotaLedger.poolMember else {
        throw ConfigurationKey.ExpectedValue(expected: "a node id: n1, n2 … (or the bare number 1, 2 …)")
    }
    return id
}

private func parseSecret(_ value: String) throws(ConfigurationKey.ExpectedValue) -> String {
    guard value.utf8.count >= 16 else {
        throw ConfigurationKey.ExpectedValue(expected: "a secret of at least 16 characters")
    }
    return value
}

private func parseTCPAddress(_ value: String) throws(ConfigurationKey.ExpectedValue) -> String {
    let expected = ConfigurationKey.ExpectedValue(expected: "tcp://host:port with a port 0-65535")
    guard value.hasPrefix("tcp://") else { throw expected }
    let hostPort = value.dropFirst("tcp://".count)
    guard let colon = hostPort.lastIndex(of: ":"), colon != hostPort.startIndex,
          let port = Int(hostPort[hostPort.index(after: colon)...]), (0...65535).contains(port)
    else { throw expected }
    return value
}

private func parsePeers(_ value: String) throws(ConfigurationKey.ExpectedValue) -> [UInt64: String] {
    var peers: [UInt64: String] = [:]
    for item in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        let expected = ConfigurationKey.ExpectedValue(expected: "ID=tcp://host:port entries (ID like n1) separated by commas")
        guard parts.count == 2, let id = try? parseNodeID(parts[0]), peers[id] == nil else { throw expected }
        peers[id] = try parseTCPAddress(parts[1])
    }
    return peers
}
