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

/// The state machine a node applies until the policy state machine exists: the log then
/// carries only membership changes (applied by the driver itself), so there is no data
/// to apply and no state to snapshot.
final class MembershipOnlyStateMachine: ReplicatedStateMachine {
    func apply(_ data: [UInt8], at index: UInt64) {
        preconditionFailure("entry \(index) carries application data, but this build applies none")
    }

    func snapshot() -> [UInt8] { [] }

    func restore(from data: [UInt8]) throws {}
}
