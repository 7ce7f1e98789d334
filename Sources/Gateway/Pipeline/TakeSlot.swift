import AsyncHTTPClient

/// Stage take-slot: one of the provider host's bounded calls (`upstream.connections_per_host`
/// open plus `upstream.queued_per_host` waiting). Past both, the attempt is refused at once
/// with 503 `upstream_busy` before anything is reserved, and the next attempt runs. The
/// slot is held until the answer is read, or by the relay until the stream ends.
struct TakeSlot: AttemptStage {
    let slots: UpstreamSlots

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        guard let url = attempt.upstream?.url else { return .next(.internalFault("take-slot ran before translate")) }
        guard let slot = slots.take(for: url) else {
            let host = UpstreamSlots.host(of: url)
            return .next(.upstreamBusy(host, open: slots.count(host), model: attempt.attempt.model))
        }
        attempt.slot = slot
        attempt.hold(slot)
        return .proceed
    }
}

extension UpstreamSlots.Slot: Release {
    /// Released when the attempt ends, unless a streamed body holds it until the stream ends.
    func end(_ attempt: AttemptExchange) {
        if !attempt.streaming { release() }
    }
}
