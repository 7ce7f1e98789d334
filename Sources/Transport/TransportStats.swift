import Atomics
import Metrics

/// Counters of what the transport did, readable at any time (`PeerTransport.stats`) and
/// reported through swift-metrics as `weir_transport_frames_total{direction,result}`.
final class TransportCounters: Sendable {
    private let values: [String: ManagedAtomic<Int>]
    private let counters: [String: Counter]

    static let names = [
        "sent", "dropped_unknown_peer", "dropped_queue_full", "dropped_oversize", "dropped_shut_down",
        "dropped_peer_leaving",
        "received", "rejected_malformed", "rejected_unsupported_version", "rejected_oversize",
        "rejected_unknown_cluster", "rejected_bad_mac", "request_timeouts", "late_responses",
    ]

    init(nodeID: PeerID) {
        var values: [String: ManagedAtomic<Int>] = [:]
        var counters: [String: Counter] = [:]
        for name in Self.names {
            values[name] = ManagedAtomic(0)
            let direction = name == "sent" || name.hasPrefix("dropped") ? "out" : "in"
            counters[name] = Counter(
                label: "weir_transport_frames_total",
                dimensions: [("direction", direction), ("result", name), ("node", nodeID.description)])
        }
        self.values = values
        self.counters = counters
    }

    func increment(_ name: String) {
        guard let value = values[name] else { preconditionFailure("unknown transport counter \(name)") }
        value.wrappingIncrement(ordering: .relaxed)
        counters[name]?.increment()
    }

    func snapshot() -> TransportStats {
        func read(_ name: String) -> Int { values[name]!.load(ordering: .relaxed) }
        return TransportStats(
            sent: read("sent"),
            droppedUnknownPeer: read("dropped_unknown_peer"),
            droppedQueueFull: read("dropped_queue_full"),
            droppedOversize: read("dropped_oversize"),
            droppedShutDown: read("dropped_shut_down"),
            droppedPeerLeaving: read("dropped_peer_leaving"),
            received: read("received"),
            rejectedMalformed: read("rejected_malformed"),
            rejectedUnsupportedVersion: read("rejected_unsupported_version"),
            rejectedOversize: read("rejected_oversize"),
            rejectedUnknownCluster: read("rejected_unknown_cluster"),
            rejectedBadMAC: read("rejected_bad_mac"),
            requestTimeouts: read("request_timeouts"),
            lateResponses: read("late_responses"))
    }
}

/// A point-in-time copy of the transport's counters.
public struct TransportStats: Equatable, Sendable {
    /// Frames handed to a peer's queue.
    public var sent: Int
    /// Sends dropped because no address was known for the peer.
    public var droppedUnknownPeer: Int
    /// Sends dropped because the peer's queue was full.
    public var droppedQueueFull: Int
    /// Sends dropped because the payload was over the limit.
    public var droppedOversize: Int
    /// Sends dropped because the transport was shutting down.
    public var droppedShutDown: Int
    /// Messages not sent because the peer said it was shutting down.
    public var droppedPeerLeaving: Int
    /// Frames received that passed every check.
    public var received: Int
    /// Frames dropped because they could not be parsed.
    public var rejectedMalformed: Int
    /// Frames dropped for an unknown wire version.
    public var rejectedUnsupportedVersion: Int
    /// Frames dropped for a payload over the limit.
    public var rejectedOversize: Int
    /// Frames dropped for naming another cluster.
    public var rejectedUnknownCluster: Int
    /// Frames dropped because their HMAC did not verify.
    public var rejectedBadMAC: Int
    /// Requests that got no reply in time.
    public var requestTimeouts: Int
    /// Replies that arrived after their request had given up.
    public var lateResponses: Int

    /// Every received frame that failed a check.
    public var rejected: Int {
        rejectedMalformed + rejectedUnsupportedVersion + rejectedOversize + rejectedUnknownCluster + rejectedBadMAC
    }
}
