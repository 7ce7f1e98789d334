import Policy
import QuotaCRDT

/// Ends one attempt's reservation, once, with its usage and usage event (the deployment's
/// statistics are ended by stage forward's release, or by the stream).
struct Settlement: Sendable {
    let quota: any QuotaGate
    let reservation: ReservationID
    let price: Price?
    let promptEstimate: Int
    let deployment: String
    let latency: Int64
    let usage: UsageContext
    let attempt: Attempt
    let attempts: Int
    let unpriced: Bool
    /// The status recorded for a request whose client left before it was answered (nginx's 499).
    static let clientClosedStatus = 499

    func settle(input: Int, output: Int, status: Int = 200, error: String? = nil) {
        let actual = Metering.usage(price, input: input, output: output)
        guard quota.settle(reservation, actual: actual) else { return }
        usage.record(attempt, attempts: attempts, status: status, error: error, input: input, output: output, microUSD: actual.microUSD,
                     unpriced: unpriced, latency: latency)
    }
}

/// Ends a reservation that nothing settled by the time the last reference goes: the
/// fallback for a streamed answer whose body never ran. Settling is once-only, so after a
/// normal settlement this does nothing.
final class AbandonedReservation: Sendable {
    let settlement: Settlement
    let stats: DeploymentStats

    init(_ settlement: Settlement, stats: DeploymentStats) {
        self.settlement = settlement
        self.stats = stats
    }

    deinit {
        guard settlement.quota.cancel(settlement.reservation) else { return }
        stats.finished(settlement.deployment, latencyMicroseconds: nil)
        settlement.usage.record(settlement.attempt, attempts: settlement.attempts, status: Settlement.clientClosedStatus, error: "client_disconnected",
                                latency: settlement.latency)
    }
}

