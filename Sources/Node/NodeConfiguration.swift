import Gateway
import Logging

/// Everything one node needs to start. Built by `ConfigurationLoader` from, in rising
/// precedence, the defaults below, a YAML file, `WEIR_*` environment variables and flags.
/// Each field is one dotted key in `ConfigurationKey.all`.
public struct NodeConfiguration: Sendable, Equatable {
    /// `node.id`: this node's id, unique in the cluster, never 0.
    public var nodeID: UInt64 = 1
    /// `cluster.id`: frames from other clusters are dropped.
    public var clusterID = "weir-local"
    /// `cluster.secret`: keys the HMAC of every peer frame. When unset, a single node
    /// generates one on first start and keeps it in its database.
    public var clusterSecret: String?
    /// `cluster.accepted_secret_file`: another secret peers may sign with (a rotation).
    public var acceptedClusterSecret: String?
    /// `cluster.accepted_kek_file`: another key that opens sealed secrets (a rotation).
    public var acceptedKEKFile: String?
    /// The key-encryption key's file (`cluster.kek_file`); nil: a lone node generates one.
    public var kekFile: String?
    /// `cluster.join`: the HTTP URL of any member; a node with no Raft state asks it to be
    /// added (as a learner, promoted once caught up) instead of bootstrapping a new cluster.
    public var joinURL: String?
    /// `cluster.bootstrap`: allows a node with no Raft state whose `peer.peers` lists other
    /// nodes to form a new cluster with them. Needed on a static cluster's first start
    /// only; without it such a node refuses to start, so a wiped member cannot quietly
    /// bootstrap a second cluster. A lone node (no peers) bootstraps itself regardless.
    public var bootstrap = false
    /// `cluster.join_timeout_seconds`: how long a joining node keeps trying.
    public var joinTimeoutSeconds = 60
    /// `cluster.bootstrap_probe_ms`: a node with no Raft state that would bootstrap from
    /// `peer.peers` asks them whether they run a cluster already (and know this node as a
    /// member that ran before: then it refuses to start). It waits for a quorum of them,
    /// then this long for the rest.
    public var bootstrapProbeMilliseconds = 5_000
    /// `data.dir`: where the node's RocksDB and checkpoints live.
    public var dataDirectory = "./weir-data"
    /// `http.host`: the address the HTTP server binds.
    public var httpHost = "127.0.0.1"
    /// `http.port`: the HTTP port (0 picks a free one and logs it).
    public var httpPort = 8080
    /// `peer.listen`: where this node listens for peers (`tcp://host:port`).
    public var peerListen = "tcp://127.0.0.1:7080"
    /// `peer.advertise`: the address other nodes use to reach this one; by default
    /// `peer.listen` with the port actually bound.
    public var peerAdvertise: String?
    /// `peer.peers`: the other members, node id → `tcp://host:port`.
    public var peers: [UInt64: String] = [:]
    /// `peer.payload_bytes_max`: the largest peer message accepted, in bytes.
    public var peerPayloadBytesMax = 4 * 1024 * 1024
    /// `raft.tick_milliseconds`: the real time of one Raft tick (elections take 10 to 20
    /// ticks, heartbeats every 2).
    public var raftTickMilliseconds = 50
    /// `raft.snapshot_entries`: take a snapshot after this many applied entries.
    public var raftSnapshotEntries = 10_000
    /// `raft.compaction_margin_entries`: entries kept behind a snapshot for slow followers.
    public var raftCompactionMarginEntries = 1_000
    /// `raft.snapshot_chunk_bytes`: a snapshot larger than this goes to a follower in
    /// chunks of this size, each acknowledged before the next.
    public var raftSnapshotChunkBytes = 1 << 20
    /// `raft.snapshot_chunk_timeout_ms`: how long the leader waits for a chunk's answer
    /// (the last one's includes the follower's check of the whole snapshot).
    public var raftSnapshotChunkTimeoutMilliseconds = 30_000
    /// `raft.snapshot_bytes_max`: the largest snapshot this node accepts from a leader.
    public var raftSnapshotBytesMax = 1 << 30
    /// `raft.ready_lag_entries_max`: how far behind its leader's commit index a node may
    /// be and still answer ready (`catch_up`).
    public var raftReadyLagEntriesMax = 256
    /// `raft.ready_leaderless_grace_ms`: how long a node that knew a leader and lost it
    /// still answers ready (`leader`); an election normally ends well within it.
    public var raftReadyLeaderlessGraceMilliseconds = 3_000
    /// `quota.*`: gossip, rights and window settings of the quota service.
    public var quota = QuotaConfiguration()
    /// `providers.from_environment`: on a cluster's first start, turn `OPENAI_API_KEY`,
    /// `ANTHROPIC_API_KEY` and `OLLAMA_BASE_URL` into credentials and deployments.
    public var providersFromEnvironment = true
    /// `providers.demo_upstream`: an OpenAI-compatible URL (a `mockllm`) registered on
    /// first start when no provider key is in the environment (`make run` sets it).
    public var demoUpstream: String?
    /// `usage.recording`: whether the node keeps usage events (off only to measure their cost).
    public var usageRecording = true
    /// `drain.lb_grace_ms`: how long a draining node keeps serving after it reports not
    /// ready, so the load balancer's health checks see it first.
    public var drainGraceMilliseconds = 3_000
    /// `drain.timeout_ms`: how long a drain waits for in-flight requests.
    public var drainTimeoutMilliseconds = 30_000
    /// Provider calls per host: connections and calls waiting for one (`UpstreamLimits`).
    public var upstreamLimits = UpstreamLimits()
    /// `usage.retention_days`: how long usage events are kept.
    public var usageRetentionDays = 30
    /// `usage.rollup_retention_days`: how long the per-minute sums are kept.
    public var usageRollupRetentionDays = 400
    /// `http.connections_max`, `http.in_flight_max`, `http.idle_timeout_seconds`,
    /// `http.body_timeout_seconds`, `http.header_bytes_max`: the HTTP listener's limits.
    public var httpLimits = HTTPServerLimits()
    /// `log.level`: trace, debug, info, notice, warning, error or critical.
    public var logLevel: Logger.Level = .info
    /// `shutdown.grace_milliseconds`: how long a graceful shutdown may take before the
    /// remaining services are cancelled.
    public var shutdownGraceMilliseconds = 10_000

    /// The defaults: one node, id 1, data in `./weir-data`, HTTP on 127.0.0.1:8080.
    public init() {}

    /// Checks what no single key can: relations between keys.
    func validateRelations() throws(ConfigurationError) {
        if raftSnapshotChunkBytes > peerPayloadBytesMax - SnapshotChunk.headerBytes {
            throw .invalidCombination(
                "raft.snapshot_chunk_bytes (\(raftSnapshotChunkBytes)) must leave room for a chunk's header in peer.payload_bytes_max "
                    + "(\(peerPayloadBytesMax)): at most \(peerPayloadBytesMax - SnapshotChunk.headerBytes)")
        }
        if joinURL != nil && bootstrap {
            throw .invalidCombination("cluster.join and cluster.bootstrap exclude each other: join a running cluster or form a new one")
        }
        if joinURL != nil && clusterSecret == nil {
            throw .invalidCombination("cluster.join needs cluster.secret: set the secret the cluster's members use")
        }
        let others = peers.keys.filter { $0 != nodeID }
        if !others.isEmpty && clusterSecret == nil {
            throw .invalidCombination(
                "peer.peers lists other nodes but cluster.secret is not set: "
                    + "set the same cluster.secret (at least 16 characters) on every node")
        }
        if (!others.isEmpty || joinURL != nil) && kekFile == nil {
            throw .invalidCombination(
                "this node has peers but cluster.kek_file is not set: give every node the same key-encryption key file "
                    + "(64 hex digits, e.g. `openssl rand -hex 32 > kek.key; chmod 600 kek.key`), or provider secrets sealed on one node cannot be opened on another")
        }
    }
}
