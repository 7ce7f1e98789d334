import Logging
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

/// The first service a graceful shutdown reaches (it is the last in the group): reports
/// the node not ready (`stopping`) and keeps everything serving for `grace`, so the load
/// balancer's health checks take the node out before its HTTP server stops. A rolling
/// restart then fails no request.
struct ReadinessGate: Service {
    let health: NodeHealth
    let grace: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is going down without grace
        }
        health.unmet("stopping")
        if grace > .zero { logger.notice("stopping: /health/ready answers 503 while the load balancer notices", metadata: ["grace": "\(grace)"]) }
        try? await Task.sleep(for: grace)
    }
}
