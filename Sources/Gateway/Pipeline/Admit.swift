import Policy
import QuotaCRDT

/// Stage admit: the attempt's estimate (one request, the prompt's tokens and the output
/// reserved, their price) reserved all-or-nothing against every active quota of the
/// caller's lanes and of the provider credential's `key` lane. A refusal ends the request
/// with 429, `Retry-After` and the quota named. The reservation ends exactly once: settled
/// by the stage that reads the answer, or cancelled by its release on every other path.
struct Admit: AttemptStage {
    let quota: any QuotaGate
    let clock: @Sendable () -> Int64

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        let estimate = Metering.usage(attempt.price, input: exchange.promptEstimate, output: attempt.outputEstimate)
        let subjects = exchange.caller.subjects + (attempt.attempt.credential.map { [(lane: QuotaLane.key, subject: $0.id)] } ?? [])
        switch await quota.reserve(estimate, against: Metering.quotas(for: subjects, state: exchange.state)) {
        case let .success(id):
            attempt.reservation = id
            attempt.hold(Held(quota: quota, reservation: id))
            return .proceed
        case let .failure(refusal):
            return .fail(Metering.refusal(refusal, now: clock()))
        }
    }

    /// Cancels the reservation when the attempt ends unsettled, unless a streamed body
    /// settles it when the stream ends. (Settling and cancelling are once-only, so a
    /// cancel after a settlement would do nothing; `settled` spares the gate's lock.)
    struct Held: Release {
        let quota: any QuotaGate
        let reservation: ReservationID

        func end(_ attempt: AttemptExchange) {
            if !attempt.streaming && !attempt.settled { quota.cancel(reservation) }
        }
    }
}
