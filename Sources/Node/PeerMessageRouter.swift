import Transport

/// The single consumer of the transport's messages: hands each received batch to the
/// services that own the message types in it (Raft, quota gossip and rights …), in the
/// order they arrived. Handlers must be quick (step, merge, or start a task): the
/// router waits for each, which is what carries back-pressure to the senders.
public final class PeerMessageRouter: Sendable {
    public typealias Handler = @Sendable ([Envelope]) async -> Void

    private let transport: PeerTransport
    private let routes: [(types: Set<MessageType>, handler: Handler)]
    private let unrouted: @Sendable (Envelope) -> Void

    /// A router over `transport`; `routes` pairs message types with their handler.
    /// `unrouted` sees messages of a type no route names (dropped after that).
    public init(
        transport: PeerTransport, routes: [(types: Set<MessageType>, handler: Handler)],
        unrouted: @escaping @Sendable (Envelope) -> Void = { _ in }
    ) {
        self.transport = transport
        self.routes = routes
        self.unrouted = unrouted
    }

    /// Messages taken from the transport per batch, at most.
    public static let batchMax = 1024

    /// Routes messages until the transport shuts down or the task is cancelled.
    public func run() async {
        while true {
            let batch = await transport.nextBatch(limit: Self.batchMax)
            if batch.isEmpty { return }
            var shares = [[Envelope]](repeating: [], count: routes.count)
            for envelope in batch {
                if let route = routes.firstIndex(where: { $0.types.contains(envelope.type) }) {
                    shares[route].append(envelope)
                } else {
                    unrouted(envelope)
                }
            }
            for (route, share) in zip(routes, shares) where !share.isEmpty { await route.handler(share) }
        }
    }
}
