import ServiceLifecycle
import Transport

/// Keeps the peer transport for the life of the service group and shuts it down (after
/// the services started later have stopped) on graceful shutdown or cancellation.
struct TransportService: Service {
    let transport: PeerTransport

    func run() async throws {
        try? await gracefulShutdown()
        await transport.shutdown()
    }
}
