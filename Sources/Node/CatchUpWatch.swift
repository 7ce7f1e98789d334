import Gateway
import Logging
import ServiceLifecycle

/// Keeps the `catch_up` readiness condition true to the node's state: the node asks its
/// leader for the commit index (Raft's ReadIndex, confirmed by a quorum) and is caught up
/// when it has applied that index, within `lagMax` entries. Until then `/health/ready`
/// answers 503, so a load balancer keeps a joining learner, a node back from a long
/// downtime or one installing a snapshot away from clients it would answer from an old
/// or empty policy.
///
/// It asks every `settledInterval` once caught up, and every `catchingUpInterval` before.
/// A node that cannot ask (no leader) keeps its last verdict: the `leader` condition
/// already covers that case.
struct CatchUpWatch: Service {
    let driver: RaftDriver
    let health: NodeHealth
    let lagMax: UInt64
    let logger: Logger
    /// Called after each look that found nothing left to apply (lag 0), not just within
    /// `lagMax`: what needs the whole committed state (the quota rebirth review).
    var onFullyCaughtUp: @Sendable () -> Void = {}
    static let catchingUpInterval = Duration.milliseconds(100)
    static let settledInterval = Duration.seconds(1)
    static let condition = "catch_up"

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var caughtUp = false
            while !Task.isCancelled {
                caughtUp = await check() ?? caughtUp
                do {
                    try await Task.sleep(for: caughtUp ? Self.settledInterval : Self.catchingUpInterval)
                } catch {
                    return  // shutting down
                }
            }
        }
    }

    /// One look: whether the node is within `lagMax` of the commit index its leader
    /// reports now, or nil when no leader answered.
    func check() async -> Bool? {
        let leaderCommit: UInt64
        do {
            leaderCommit = try await driver.readIndex()
        } catch {
            return nil
        }
        let applied = await driver.lastApplied
        let lag = leaderCommit > applied ? leaderCommit - applied : 0
        let caughtUp = lag <= lagMax
        let was = health.readiness().waitingFor.contains(Self.condition)
        // Before readiness is met: a new node's first answers already see the review.
        if lag == 0 { onFullyCaughtUp() }
        health.setCatchUp(lag: lag, met: caughtUp)
        if caughtUp && was {
            logger.info("caught up with the leader: ready", metadata: ["applied": "\(applied)", "leader_commit": "\(leaderCommit)"])
        } else if !caughtUp && !was {
            logger.notice("fell behind the leader: not ready until caught up", metadata: ["lag": "\(lag)", "lag_max": "\(lagMax)"])
        }
        return caughtUp
    }
}
