import ServiceLifecycle

/// Runs one of the node's loops (the message router, the Raft driver, the quota service)
/// for the life of the service group; graceful shutdown cancels it.
struct LoopService: Service {
    let loop: @Sendable () async -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await loop()
        }
    }
}
