import ServiceLifecycle

/// Runs the Raft driver for the life of the service group; graceful shutdown cancels it.
struct RaftService: Service {
    let driver: RaftDriver

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await driver.run()
        }
    }
}

