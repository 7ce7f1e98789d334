import QuotaCRDT

/// Admission against the cluster-wide quotas, as the request pipeline sees it (DESIGN.md
/// section 3, stages admit and settle). `Node` implements it over the quota CRDT and the
/// gossip between nodes; the hot path does no I/O and no consensus round trip.
public protocol QuotaGate: Sendable {
    /// Reserves `estimate` in the current window of every quota in `quotas`, all or none.
    /// May wait briefly (a bounded, configured time) while rights arrive from peers.
    /// A refusal names the quota, its period, caps, usage and reset time.
    func reserve(_ estimate: Usage, against quotas: [QuotaSpec]) async -> Result<ReservationID, QuotaRefusal>

    /// Replaces a reservation by the actual usage. Returns false when it had already been
    /// settled or cancelled: each reservation ends exactly once.
    @discardableResult
    func settle(_ reservation: ReservationID, actual: Usage) -> Bool

    /// Releases a reservation that used nothing (an upstream error, a cancelled request).
    @discardableResult
    func cancel(_ reservation: ReservationID) -> Bool

    /// The tightest limits in requests and tokens over the windows an open reservation
    /// holds, as this node knows them (its answer's rate-limit headers).
    func rateLimits(of reservation: ReservationID) -> RateLimits
}
