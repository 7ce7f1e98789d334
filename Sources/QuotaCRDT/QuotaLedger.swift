/// One member's quota state: the escrow counters of the live windows (replicated by
/// gossip) and this member's own reservations (never replicated). Pure: time is an
/// argument, and nothing here does I/O.
///
/// Invariant, per window, on every member i: used[i] + reserved[i] ≤ rights(i) in every
/// capped unit (except by the amount actual usage exceeded its estimate). With
/// Σ rights(i) = cap, the cluster-wide usage never exceeds the cap.
public struct QuotaLedger: Sendable {
    /// This member's id.
    public let member: UInt64

    struct WindowState: Sendable {
        var counter = EscrowCounter()
        /// The members the cap is split over, fixed when the window starts.
        let members: [UInt64]
        let end: Int64?
        /// This member's reserved, not yet settled amounts.
        var reserved = Usage.zero
        /// The latest caps seen for the window (a new revision changes them mid-window).
        private(set) var caps: Caps
        /// This member's base share of `caps` (kept, as admission reads it every time).
        private(set) var base: Usage

        init(members: [UInt64], end: Int64?, caps: Caps, owner: UInt64) {
            self.members = members
            self.end = end
            self.caps = caps
            base = caps.baseShare(of: owner, among: members)
        }

        mutating func update(caps newCaps: Caps, owner: UInt64) {
            guard newCaps != caps else { return }
            caps = newCaps
            base = newCaps.baseShare(of: owner, among: members)
        }
    }

    struct Reservation: Sendable {
        let windows: [WindowKey]
        let estimate: Usage
    }

    var windows: [WindowKey: WindowState] = [:]
    private var reservations: [ReservationID: Reservation] = [:]
    private var nextReservation: UInt64 = 0

    /// An empty ledger for `member`.
    public init(member: UInt64) { self.member = member }

    /// Reserves `estimate` in the current window of every quota in `quotas`, all or none.
    /// A window met for the first time splits its cap over `members`. Returns a handle to
    /// settle or cancel, or the first quota that refuses.
    public mutating func reserve(
        _ estimate: Usage, against quotas: [QuotaSpec], members: [UInt64], now: Int64
    ) -> Result<ReservationID, QuotaRefusal> {
        precondition(estimate.isNonNegative, "an estimate is never negative")
        var keys: [WindowKey] = []
        keys.reserveCapacity(quotas.count)
        // First make sure every window exists (inserting invalidates dictionary indices) …
        for spec in quotas {
            let window = spec.period.window(containing: now)
            let key = WindowKey(quota: spec.id, period: spec.period, start: window.start)
            if windows[key] == nil {
                windows[key] = WindowState(members: members.sorted(), end: window.end, caps: spec.caps, owner: member)
            }
            keys.append(key)
        }
        // … then check each with a single lookup, and reserve only if all admit.
        var indices: [Dictionary<WindowKey, WindowState>.Index] = []
        indices.reserveCapacity(quotas.count)
        for (spec, key) in zip(quotas, keys) {
            let index = windows.index(forKey: key)!
            windows.values[index].update(caps: spec.caps, owner: member)
            let state = windows.values[index]
            let limit = state.counter.rights(of: member, base: state.base)
            let total = state.counter.used(by: member) + state.reserved + estimate
            if let unit = Self.exceededUnit(total, limit, spec.caps) {
                return .failure(QuotaRefusal(
                    quota: spec.id, period: spec.period, caps: spec.caps,
                    used: state.counter.totalUsed + state.reserved, resetsAt: state.end, unit: unit))
            }
            indices.append(index)
        }
        for index in indices { windows.values[index].reserved += estimate }
        nextReservation += 1
        let id = ReservationID(rawValue: nextReservation)
        reservations[id] = Reservation(windows: keys, estimate: estimate)
        return .success(id)
    }

    /// Replaces a reservation by the actual usage. Returns false if it was already settled
    /// or cancelled (each reservation settles exactly once).
    @discardableResult
    public mutating func settle(_ id: ReservationID, actual: Usage) -> Bool {
        precondition(actual.isNonNegative, "actual usage is never negative")
        guard let reservation = reservations.removeValue(forKey: id) else { return false }
        for key in reservation.windows {
            windows[key]!.reserved = windows[key]!.reserved - reservation.estimate
            windows[key]!.counter.addUsed(actual, by: member)
        }
        return true
    }

    /// Releases a reservation without usage. Returns false if it was already settled or
    /// cancelled.
    @discardableResult
    public mutating func cancel(_ id: ReservationID) -> Bool {
        guard let reservation = reservations.removeValue(forKey: id) else { return false }
        for key in reservation.windows {
            windows[key]!.reserved = windows[key]!.reserved - reservation.estimate
        }
        return true
    }

    /// Reservations not yet settled or cancelled.
    public var openReservations: Int { reservations.count }

    /// All members' settled usage in a window, as this member knows it.
    public func usage(in key: WindowKey) -> Usage { windows[key]?.counter.totalUsed ?? .zero }

    /// This member's rights in a window.
    public func rights(in key: WindowKey) -> Usage {
        guard let state = windows[key] else { return .zero }
        return state.counter.rights(of: member, base: state.base)
    }

    /// What this member could give away in a window: rights not used nor reserved.
    public func spare(in key: WindowKey) -> Usage {
        guard let state = windows[key] else { return .zero }
        let spare = rights(in: key) - state.counter.used(by: member) - state.reserved
        return Usage(requests: max(0, spare.requests), tokens: max(0, spare.tokens), microUSD: max(0, spare.microUSD))
    }

    static func exceededUnit(_ total: Usage, _ limit: Usage, _ caps: Caps) -> String? {
        if caps.requests != nil && total.requests > limit.requests { return "requests" }
        if caps.tokens != nil && total.tokens > limit.tokens { return "tokens" }
        if caps.microUSD != nil && total.microUSD > limit.microUSD { return "micro_usd" }
        return nil
    }
}
