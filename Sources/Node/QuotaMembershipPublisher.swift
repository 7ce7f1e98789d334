import Consensus
import Logging
import QuotaCRDT

/// On the leader: whenever the latest quota split scheduled in the log is not the pool
/// (`[QuotaLedger.poolMember]`: every window's cap starts in the `QuotaPool`, and nodes
/// draw allocations from it), appends a quota membership entry that takes effect
/// `membershipDelayMilliseconds` from now, so every node has applied it before any window
/// it covers starts. The first entry covers every window. Runs on every node; only the
/// leader acts, so a new leader finishes what a crashed one did not. (A cluster that
/// split windows over its voters, as Weir did before the pool, moves to the pool for the
/// windows that start after the delay.)
struct QuotaMembershipPublisher {
    let driver: RaftDriver
    let machine: NodeStateMachine
    let delayMilliseconds: Int
    let logger: Logger
    let now: @Sendable () -> Int64
    /// How often the leader compares the voters with the schedule.
    static let checkIntervalMilliseconds = 200

    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Self.checkIntervalMilliseconds))
            await publishIfNeeded()
        }
    }

    func publishIfNeeded() async {
        let status = await driver.status
        guard status.softState.role == .leader else { return }
        let pooled = [QuotaLedger.poolMember]
        let schedule = machine.quotaSchedule
        guard schedule.latestVoters != pooled else { return }
        let from = schedule.entries.isEmpty ? Int64.min : now() + Int64(delayMilliseconds)
        do {
            _ = try await driver.propose(NodeStateMachine.quotaMembershipEntry(effectiveFrom: from, voters: pooled))
            let effective = from == .min ? "every window" : "windows from \(from) ms"
            logger.info("scheduled pooled quota windows", metadata: ["effective": "\(effective)"])
        } catch {
            logger.debug("could not schedule the quota split yet", metadata: ["error": "\(error)"])
        }
    }
}
