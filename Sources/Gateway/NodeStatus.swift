/// Who this node is, as the health endpoints report it.
public struct NodeIdentity: Sendable, Equatable {
    /// The node id (unique in the cluster, never 0).
    public var nodeID: UInt64
    /// The cluster this node belongs to.
    public var clusterID: String
    /// Weir's version.
    public var version: String

    /// An identity.
    public init(nodeID: UInt64, clusterID: String, version: String) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.version = version
    }
}

/// Whether the node should receive traffic from the load balancer.
public struct Readiness: Sendable, Equatable {
    /// The conditions not yet met, by name (e.g. `storage`, `draining`), sorted.
    public var waitingFor: [String]

    /// How many entries the node had still to apply of its leader's commit index when it
    /// last asked (nil before it could ask).
    public var lag: UInt64?

    /// Ready when nothing is awaited.
    public var isReady: Bool { waitingFor.isEmpty }

    /// A readiness with `waitingFor` unmet conditions.
    public init(waitingFor: [String], lag: UInt64? = nil) {
        self.waitingFor = waitingFor.sorted()
        self.lag = lag
    }
}

/// What the health endpoints ask the node. `Node` implements it.
public protocol NodeStatusProvider: Sendable {
    /// The node's identity; constant for the life of the process.
    var identity: NodeIdentity { get }
    /// The node's current readiness.
    func readiness() -> Readiness
}

/// Renders the process's metrics in the Prometheus text format (version 0.0.4).
public protocol MetricsExporter: Sendable {
    /// The whole exposition, ready to send.
    func prometheusText() -> [UInt8]
}
