import Atomics
import Crypto
import Foundation
import Logging
import Synchronization

/// Authenticated messages between the nodes of one cluster, over nng.
///
/// Each node listens on one pull socket; for each peer it holds a push socket that dials
/// the peer's address and keeps redialling with exponential back-off. Sending never
/// blocks the caller: a message that cannot be queued is dropped and counted. Received
/// frames are checked (version, size, cluster id, HMAC-SHA256 under the cluster secret)
/// and the ones that pass arrive through `messages`, a single-consumer `AsyncSequence`.
/// `request(...)` adds request/reply with a deadline on top of the same frames.
public final class PeerTransport: Sendable {
    /// The configuration the transport was started with.
    public let configuration: TransportConfiguration
    /// The TCP port the listener is bound to (the configured one, or the one the system
    /// chose for port 0).
    public let listenPort: Int

    let key: SymmetricKey
    /// `key` and the keys of `acceptedSecrets`: a received frame may be signed with any.
    let acceptedKeys: [SymmetricKey]
    let counters: TransportCounters
    let logger: Logger
    private let listener: NNGSocket
    private let receiveIO: AsyncIO
    let inbox: Inbox
    let links = Mutex<[PeerID: PeerLink]>([:])
    /// Peers that said they are shutting down, and until when nothing is sent to them.
    let leavingPeers = Mutex<[PeerID: LeavingPeer]>([:])
    /// When the listener last received a frame, in `uptimeNanoseconds`.
    let lastReceived = ManagedAtomic<UInt64>(0)
    let pending = Mutex<[UInt64: PendingRequest]>([:])
    let nextCorrelation = ManagedAtomic<UInt64>(0)
    private let phase = Mutex(Phase.open)

    /// Where the transport is in its life. While draining, frames still received are
    /// discarded so that every peer connection reads on to its end (see `shutdown()`).
    enum Phase { case open, draining, closed }

    struct PeerLink {
        let address: String
        let socket: NNGSocket
    }

    struct PendingRequest {
        let peer: PeerID
        let continuation: CheckedContinuation<Envelope, any Error>
    }

    /// Validates `configuration`, binds the listener and starts receiving.
    public init(configuration: TransportConfiguration, logger: Logger = Logger(label: "weir.transport")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.key = SymmetricKey(data: configuration.clusterSecret)
        self.acceptedKeys = [key] + configuration.acceptedSecrets.map { SymmetricKey(data: $0) }
        self.counters = TransportCounters(nodeID: configuration.nodeID)
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.nodeID)"
        self.logger = logger
        self.inbox = Inbox(capacity: configuration.inboxMessagesMax)
        let listener = try NNGSocket(.pull)
        // nng drops (and disconnects) anything over twice our frame limit; frames between
        // one and two times the limit reach `Frame.decode`, which rejects and counts them.
        let frameBytesMax = Frame.encodedBytes(
            payloadBytes: configuration.payloadBytesMax, clusterID: configuration.clusterID)
        try listener.setSize(.receiveSizeMax, 2 * frameBytesMax)
        self.listener = listener
        self.receiveIO = try AsyncIO()
        self.listenPort = try listener.listen(configuration.listenAddress)
        receiveIO.onComplete = { [weak self] io in self?.receiveCompleted(io) }
        armReceive()
    }

    deinit {
        // `shutdown()` is the way to stop; this only keeps a forgotten transport from
        // holding its port until the process exits. Closing can block, and this deinit may
        // run on nng's callback thread, so the sockets close on a thread of their own.
        guard phase.withLock({ $0 == .open }) else { return }
        let sockets = [listener] + links.withLock { $0.values.map(\.socket) }
        let thread = Thread { sockets.forEach { $0.close() } }
        thread.name = "weir-transport-deinit"
        thread.start()
    }

    // MARK: Peers

    /// Sets the peers this node sends to, by node id and `tcp://host:port` address. New
    /// peers are dialled in the background; removed or moved peers are disconnected and
    /// their queued messages discarded.
    public func setPeers(_ addresses: [PeerID: String]) async throws {
        var opened: [PeerID: PeerLink] = [:]
        for (peer, address) in addresses where peer != configuration.nodeID {
            if links.withLock({ $0[peer]?.address == address }) { continue }
            guard address.hasPrefix("tcp://") else {
                throw TransportError.invalidConfiguration(field: "peer \(peer) address", reason: "must start with tcp://")
            }
            let socket = try NNGSocket(.push)
            try socket.setInt(.sendBuffer, configuration.sendQueueMessagesMax)
            try socket.setMilliseconds(.reconnectMinimum, configuration.reconnectMinimumMilliseconds)
            try socket.setMilliseconds(.reconnectMaximum, configuration.reconnectMaximumMilliseconds)
            try socket.dial(address)
            opened[peer] = PeerLink(address: address, socket: socket)
        }
        let retired = links.withLock { links -> [PeerLink] in
            var retired: [PeerLink] = []
            for (peer, link) in links where addresses[peer] != link.address || opened[peer] != nil {
                retired.append(link)
                links[peer] = nil
            }
            links.merge(opened) { _, new in new }
            return retired
        }
        if !retired.isEmpty {
            await BlockingCall.run("weir-transport-close") { retired.forEach { $0.socket.close() } }
        }
        logger.debug("peers set", metadata: ["peers": "\(addresses.keys.sorted())"])
    }

    /// The peers this node currently sends to.
    public var peers: [PeerID: String] {
        links.withLock { $0.mapValues(\.address) }
    }

    // MARK: Sending

    /// Queues a one-way message for `peer` without blocking. Never throws: a message that
    /// cannot be queued is dropped, counted and reported in the result.
    @discardableResult
    public func send(_ type: MessageType, _ payload: [UInt8], to peer: PeerID) -> SendOutcome {
        sendFrame(kind: .oneWay, type: type, payload: payload, correlation: 0, to: peer)
    }

    /// Answers a request received through `messages`.
    @discardableResult
    public func reply(to request: Envelope, _ type: MessageType, _ payload: [UInt8]) -> SendOutcome {
        precondition(request.expectsReply, "reply(to:) needs a request")
        return sendFrame(kind: .response, type: type, payload: payload, correlation: request.correlation, to: request.sender)
    }

    /// `leaving` marks the transport's own goodbye, the one frame sent while draining.
    func sendFrame(
        kind: Frame.Kind, type: MessageType, payload: [UInt8], correlation: UInt64, to peer: PeerID,
        leaving: Bool = false
    ) -> SendOutcome {
        guard payload.count <= configuration.payloadBytesMax else { return drop(.oversize) }
        let frame = Frame(
            kind: kind, type: type, sender: configuration.nodeID, correlation: correlation,
            clusterID: configuration.clusterID, payload: payload)
        return sendBytes(frame.encode(key: key), to: peer, leaving: leaving)
    }

    /// Sends already-encoded bytes. Internal so tests can inject malformed frames.
    func sendBytes(_ bytes: [UInt8], to peer: PeerID, leaving: Bool = false) -> SendOutcome {
        if phase.withLock({ leaving ? $0 == .closed : $0 != .open }) { return drop(.shutDown) }
        guard let link = links.withLock({ $0[peer] }) else { return drop(.unknownPeer) }
        if !leaving && isLeaving(peer, link: link) { return drop(.peerLeaving) }
        do {
            guard try link.socket.trySend(bytes) else { return drop(.queueFull) }
        } catch {
            // The link was closed under us by `setPeers` or `shutdown`.
            return drop(phase.withLock { $0 != .open } ? .shutDown : .unknownPeer)
        }
        counters.increment("sent")
        return .queued
    }

    private func drop(_ reason: SendOutcome.DropReason) -> SendOutcome {
        counters.increment("dropped_\(reason.rawValue)")
        return .dropped(reason)
    }

    // MARK: Receiving

    /// Messages from peers that passed every check, in arrival order per peer. Iterate it
    /// from one task only; it ends after `shutdown()`.
    public var messages: Messages { Messages(transport: self) }

    /// The sequence behind `messages`.
    public struct Messages: AsyncSequence, Sendable {
        let transport: PeerTransport

        public func makeAsyncIterator() -> Iterator { Iterator(transport: transport) }

        /// Iterates `messages`.
        public struct Iterator: AsyncIteratorProtocol {
            let transport: PeerTransport

            public mutating func next() async -> Envelope? {
                await transport.inbox.next(resumeReading: transport.armReceive)
            }
        }
    }

    /// The next messages: every one already received, up to `limit`, waiting for the first.
    /// Empty once the transport has shut down (or the task is cancelled). An alternative to
    /// `messages` for consumers that handle bursts at once; use one or the other.
    public func nextBatch(limit: Int = 1024) async -> [Envelope] {
        await inbox.nextBatch(limit: limit, resumeReading: armReceive)
    }

    /// Counters of sent, dropped, received and rejected frames.
    public var stats: TransportStats { counters.snapshot() }

    func armReceive() {
        phase.withLock { phase in
            if phase != .closed { listener.receive(into: receiveIO) }
        }
    }

    /// Runs on nng's thread when a receive finishes; must not block.
    private func receiveCompleted(_ io: AsyncIO) {
        if let code = io.failure {
            if AsyncIO.isTerminal(code) || phase.withLock({ $0 == .closed }) {
                inbox.finish()
            } else {
                armReceive()
            }
            return
        }
        let bytes = io.takeMessageBytes()
        lastReceived.store(Self.uptimeNanoseconds(), ordering: .relaxed)
        var keepReading = true
        switch Frame.decode(bytes, keys: acceptedKeys, clusterID: configuration.clusterID, payloadBytesMax: configuration.payloadBytesMax) {
        case let .failure(rejection):
            counters.increment(rejection.counterName)
        case let .success(frame):
            counters.increment("received")
            keepReading = handle(frame)
        }
        if keepReading { armReceive() }
    }

    /// Routes a verified frame; false when the inbox is full and reading must pause.
    private func handle(_ frame: Frame) -> Bool {
        if frame.type == .leaving {
            if frame.kind == .request { peerIsLeaving(frame) } else { completeRequest(frame) }
            return true
        }
        peerIsBack(frame.sender)
        if frame.kind == .response {
            completeRequest(frame)
            return true
        }
        // While draining, what still arrives is read (so every connection reads on to its
        // end) and discarded.
        if phase.withLock({ $0 != .open }) { return true }
        return inbox.deliver(Envelope(
            sender: frame.sender, type: frame.type, payload: frame.payload,
            correlation: frame.kind == .request ? frame.correlation : 0))
    }

    // MARK: Shutdown

    /// Stops listening, disconnects every peer (discarding queued messages), fails the
    /// requests awaiting replies with `.shutDown` and ends `messages`. Idempotent.
    ///
    /// First it says goodbye, so the peers stop sending (`sayGoodbye`); then it ends the
    /// peers' connections and reads them to their end (discarding what still arrives), and
    /// closes the sockets once no connection is left. nng 1.5.2 races when a connection
    /// closes under traffic (see `PeerTransport+Leaving.swift`). If nng still does not
    /// finish within 5 s, the transport stops waiting for it.
    public func shutdown() async {
        let first = phase.withLock { phase in
            defer { if phase == .open { phase = .draining } }
            return phase == .open
        }
        guard first else { return }
        await sayGoodbye()
        let retired = links.withLock { links in
            defer { links = [:] }
            return Array(links.values)
        }
        let listener = self.listener
        let receiveIO = self.receiveIO
        let port = listenPort
        let closed = await BlockingCall.run("weir-transport-shutdown") { [self] in
            PeerTransport.endConnections(of: listener, port: port, within: .seconds(2))
            phase.withLock { $0 = .closed }
            // The receive is stopped before its socket closes, so no receive is in flight
            // during the close.
            receiveIO.stop()
            listener.close()
            retired.forEach { $0.socket.close() }
        }
        if !closed {
            logger.warning("nng did not close the peer sockets within 5 s; shutting down without waiting for it")
        }
        inbox.finish()
        let waiting = pending.withLock { pending in
            defer { pending = [:] }
            return Array(pending.values)
        }
        waiting.forEach { $0.continuation.resume(throwing: TransportError.shutDown) }
        logger.debug("transport shut down")
    }

    /// Shuts down the connections accepted on `port` until `listener` has no pipe left
    /// or `timeout` passes. Blocks. It repeats because peers redial meanwhile.
    private static func endConnections(of listener: NNGSocket, port: Int, within timeout: Duration) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        repeat {
            AcceptedConnections.shutDown(localPort: port)
            if listener.pipes.value <= 0 { return }
            Thread.sleep(forTimeInterval: 0.002)
        } while clock.now < deadline
    }
}

extension Frame.Rejection {
    var counterName: String {
        switch self {
        case .malformed: "rejected_malformed"
        case .unsupportedVersion: "rejected_unsupported_version"
        case .oversize: "rejected_oversize"
        case .unknownCluster: "rejected_unknown_cluster"
        case .badMAC: "rejected_bad_mac"
        }
    }
}
