/// Everything a `PeerTransport` needs to know, fixed at start. Every limit has a name,
/// a unit and a default.
public struct TransportConfiguration: Sendable {
    /// This node's id, carried in every frame as the sender.
    public var nodeID: PeerID
    /// The cluster id; frames naming another cluster are dropped.
    public var clusterID: String
    /// The shared cluster secret that keys every frame's HMAC-SHA256.
    public var clusterSecret: [UInt8]
    /// Other secrets a received frame may be signed with, during a rotation of the
    /// cluster secret (frames are always sent with `clusterSecret`).
    public var acceptedSecrets: [[UInt8]] = []
    /// Where this node listens for peers, e.g. `tcp://0.0.0.0:7080` (port 0 picks a free one).
    public var listenAddress: String

    /// Largest payload accepted or sent, in bytes. Frames above it are dropped and counted.
    public var payloadBytesMax = 4 * 1024 * 1024
    /// Messages queued per peer before `send` starts dropping (nng's send buffer, ≤ 8192).
    public var sendQueueMessagesMax = 1024
    /// Received messages buffered for the consumer; when full, the transport stops reading
    /// from the network until the consumer catches up (back-pressure, not loss).
    public var inboxMessagesMax = 4096
    /// First reconnect delay after a peer link breaks, in milliseconds.
    public var reconnectMinimumMilliseconds = 20
    /// The reconnect delay doubles after each failure up to this many milliseconds.
    public var reconnectMaximumMilliseconds = 2_000
    /// Default deadline of `request(...)`, in milliseconds.
    public var requestTimeoutMilliseconds = 1_000
    /// Requests awaiting a reply at once; more fail at once with `.tooManyPendingRequests`.
    public var pendingRequestsMax = 4096
    /// How long, in milliseconds, this node holds back messages to a peer that said it is
    /// shutting down (or until that peer sends again). See `PeerTransport.shutdown()`.
    public var leavingPauseMilliseconds = 1_000
    /// How long, in milliseconds, a shutting-down node waits for its peers to confirm its
    /// goodbye before it closes its connections anyway.
    public var goodbyeTimeoutMilliseconds = 200

    /// A configuration with the default limits.
    public init(nodeID: PeerID, clusterID: String, clusterSecret: [UInt8], listenAddress: String) {
        self.nodeID = nodeID
        self.clusterID = clusterID
        self.clusterSecret = clusterSecret
        self.listenAddress = listenAddress
    }

    /// Checks the values, naming the first bad one.
    public func validate() throws(TransportError) {
        func bad(_ field: String, _ why: String) -> TransportError { .invalidConfiguration(field: field, reason: why) }
        let clusterBytes = clusterID.utf8.count
        if clusterBytes == 0 || clusterBytes > Frame.clusterIDBytesMax {
            throw bad("clusterID", "must be 1 to \(Frame.clusterIDBytesMax) bytes")
        }
        if clusterSecret.count < 16 { throw bad("clusterSecret", "must be at least 16 bytes") }
        if !listenAddress.hasPrefix("tcp://") { throw bad("listenAddress", "must start with tcp://") }
        if payloadBytesMax < 1 || payloadBytesMax > 256 * 1024 * 1024 {
            throw bad("payloadBytesMax", "must be 1 byte to 256 MiB")
        }
        if !(1...8192).contains(sendQueueMessagesMax) { throw bad("sendQueueMessagesMax", "must be 1...8192") }
        if inboxMessagesMax < 2 { throw bad("inboxMessagesMax", "must be at least 2") }
        if reconnectMinimumMilliseconds < 1 || reconnectMaximumMilliseconds < reconnectMinimumMilliseconds {
            throw bad("reconnectMaximumMilliseconds", "must be ≥ reconnectMinimumMilliseconds ≥ 1")
        }
        if requestTimeoutMilliseconds < 1 { throw bad("requestTimeoutMilliseconds", "must be positive") }
        if pendingRequestsMax < 1 { throw bad("pendingRequestsMax", "must be positive") }
        if !(1...60_000).contains(leavingPauseMilliseconds) {
            throw bad("leavingPauseMilliseconds", "must be 1...60000")
        }
        if !(1...leavingPauseMilliseconds).contains(goodbyeTimeoutMilliseconds) {
            throw bad("goodbyeTimeoutMilliseconds", "must be 1...leavingPauseMilliseconds")
        }
    }
}

/// Errors at the transport's boundary.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration value is out of range.
    case invalidConfiguration(field: String, reason: String)
    /// nng refused an operation; `operation` names it, `message` is nng's text.
    case nng(operation: String, code: Int32, message: String)
    /// A request got no reply before its deadline.
    case timedOut(peer: PeerID, type: MessageType)
    /// The request could not be sent (unknown peer, queue full, or over the size limit).
    case notSent(peer: PeerID, reason: SendOutcome.DropReason)
    /// Too many requests are already waiting for replies.
    case tooManyPendingRequests
    /// The transport was shut down.
    case shutDown

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, reason): "transport setting \(field) \(reason)"
        case let .nng(operation, code, message): "nng \(operation) failed (\(code)): \(message)"
        case let .timedOut(peer, type): "no reply from node \(peer) to message type \(type) before the deadline"
        case let .notSent(peer, reason): "message to node \(peer) not sent: \(reason)"
        case .tooManyPendingRequests: "too many requests awaiting replies; retry later"
        case .shutDown: "the peer transport is shut down"
        }
    }
}

/// What became of a `send`.
public enum SendOutcome: Equatable, Sendable {
    /// Handed to the peer's queue. Delivery is not confirmed (use `request` for that).
    case queued
    /// Not sent, and counted.
    case dropped(DropReason)

    /// Why a message was not sent.
    public enum DropReason: String, Equatable, Sendable {
        /// No address is known for the peer.
        case unknownPeer = "unknown_peer"
        /// The peer's queue is full: it is unreachable or slower than we send.
        case queueFull = "queue_full"
        /// The payload exceeds `payloadBytesMax`.
        case oversize
        /// The transport is shutting down.
        case shutDown = "shut_down"
        /// The peer said it is shutting down; nothing is sent to it until it is back.
        case peerLeaving = "peer_leaving"
    }
}
