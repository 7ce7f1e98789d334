/// One member's quota state: the escrow counters of the live windows (replicated by
/// gossip) and this member's own reservations (never replicated). Pure: time is an
/// argument, and nothing here does I/O.
///
/// Invariant, per window, on every member i: used[i] + reserved[i] ≤ rights(i) in every
/// capped unit (except by the amount actual usage exceeded its estimate). With
/// Σ rights(i) = cap, the cluster-wide usage never exceeds the cap.
///
/// Windows live in slots (an array) found through one dictionary look-up per quota; a
/// reservation keeps its slots, so settling needs no look-up at all.
public struct QuotaLedger: Sendable {
    /// This member's id.
    public let member: UInt64
    /// When true, admission also stays under each window's durable high-water mark, which
    /// the owner raises by writing records (see `recordsToPersist`). A node with storage
    /// turns it on; the simulator models durability itself.
    public let tracksDurability: Bool

    var states: [WindowState?] = []
    var slots: [WindowKey: Int] = [:]
    private var freeSlots: [Int] = []
    private var reservations: [ReservationID: Reservation] = [:]
    private var nextReservation: UInt64 = 0
    /// Set by `reserve` (and `settle`) when usage passed the point where a window's next
    /// durable mark is due; the owner writes `recordsToPersist()` and clears it.
    public var durabilityWanted = false
    /// Rises with every change of a counter (see `updates(changedAfter:)`).
    public private(set) var generation: UInt64 = 0
    /// Top-ups found due by `reserve` (see `takeTopUps`), in the order found: a run must
    /// not depend on a dictionary's iteration order.
    var topUps: [(key: WindowKey, amount: Usage)] = []
    /// True when `reserve` found top-ups due.
    public var hasTopUps: Bool { !topUps.isEmpty }
    /// How many of its latest estimate a member wants room for: it tops up below this,
    /// keeps this much when a peer only tops up, and makes durable chunks at least this big.
    public static let headroomEstimates: Int64 = 4
    private var currentWindows = [Window?](repeating: nil, count: Period.allCases.count)
    /// Windows this member may not admit in (see `QuotaFence`).
    var fence = QuotaFence()

    struct Reservation: Sendable {
        let slots: [Int]
        let estimate: Usage
    }

    /// An empty ledger for `member`.
    public init(member: UInt64, tracksDurability: Bool = false) {
        self.member = member
        self.tracksDurability = tracksDurability
    }

    /// Reserves `estimate` in the current window of every quota in `quotas`, all or none.
    /// A window met for the first time splits its cap over `members`. Returns a handle to
    /// settle or cancel, or the first quota that refuses.
    public mutating func reserve(
        _ estimate: Usage, against quotas: [QuotaSpec], members: [UInt64], now: Int64
    ) -> Result<ReservationID, QuotaRefusal> {
        reserve(estimate, against: quotas, now: now) { _ in members }
    }

    /// `reserve`, where a window met for the first time splits its cap over
    /// `membersAt(start)`: the members in force when the window started.
    public mutating func reserve(
        _ estimate: Usage, against quotas: [QuotaSpec], now: Int64, membersAt: (Int64) -> [UInt64]
    ) -> Result<ReservationID, QuotaRefusal> {
        precondition(estimate.isNonNegative, "an estimate is never negative")
        var chosen: [Int] = []
        chosen.reserveCapacity(quotas.count)
        for (position, spec) in quotas.enumerated() {
            let slot = preparedSlot(for: spec, in: currentWindow(spec.period, containing: now), estimate: estimate, membersAt: membersAt)
            if let refusal = refusal(in: slot, adding: estimate) {
                return .failure(namedRefusal(first: refusal, among: quotas.dropFirst(position + 1), adding: estimate, now: now))
            }
            chosen.append(slot)
        }
        for slot in chosen {
            states[slot]!.reserved += estimate
            states[slot]!.openReservations += 1
            if tracksDurability && states[slot]!.wantsHigherMark { durabilityWanted = true }
            let lacking = states[slot]!.shortfall(for: states[slot]!.topUpBelow)
            if lacking != .zero {
                let key = states[slot]!.key
                if let known = topUps.firstIndex(where: { $0.key == key }) { topUps[known].amount = lacking } else { topUps.append((key, lacking)) }
            }
        }
        nextReservation += 1
        let id = ReservationID(rawValue: nextReservation)
        reservations[id] = Reservation(slots: chosen, estimate: estimate)
        return .success(id)
    }

    /// The slot of `spec`'s `window`, created (split over `membersAt(start)`) when the window
    /// is new, with the caps in force and `estimate` as its latest estimate (which sizes the
    /// next durable chunk and allocation, even when refused).
    mutating func preparedSlot(for spec: QuotaSpec, in window: Window, estimate: Usage, membersAt: (Int64) -> [UInt64]) -> Int {
        let owner = member
        let slot = slot(for: WindowKey(quota: spec.id, period: spec.period, start: window.start)) {
            WindowState(key: $0, owner: owner, members: membersAt(window.start).sorted(), end: window.end, caps: spec.caps)
        }
        states[slot]?.update(caps: spec.caps)
        states[slot]?.lastEstimate = estimate
        return slot
    }

    /// Why the window in `slot` refuses `estimate`, or nil when it fits.
    private func refusal(in slot: Int, adding estimate: Usage) -> QuotaRefusal? {
        guard let state = states[slot], let unit = state.exceededUnit(adding: estimate, durability: tracksDurability) else { return nil }
        return QuotaRefusal(
            quota: state.key.quota, period: state.key.period, caps: state.caps, used: state.totalUsed + state.reserved,
            resetsAt: state.end, windowStart: state.key.start, unit: unit)
    }

    /// The refusal to name when `first` refuses: of the windows of the request that refuse
    /// (`first`, and those of `later` this member holds with the caps in force), the spent
    /// ones as far as this member knows (`isSpent`), the one that resets last among them;
    /// `first` when none is spent. A request blocked by a spent window waits for nothing
    /// (the caller waits only while rights may come), its 429 names the quota that is out
    /// rather than one with room left, and its reset is when the request can pass. A
    /// window that is not spent is never preferred for being fuller: a day window named
    /// over a minute window that only waits for rights would send the client away for
    /// hours. Changes nothing.
    private func namedRefusal(first: QuotaRefusal, among later: ArraySlice<QuotaSpec>, adding estimate: Usage, now: Int64) -> QuotaRefusal {
        var spent: [QuotaRefusal] = isSpent(first.window, for: estimate) ? [first] : []
        for spec in later {
            let key = WindowKey(quota: spec.id, period: spec.period, start: spec.period.window(containing: now).start)
            guard let slot = slots[key], states[slot]?.caps == spec.caps, isSpent(key, for: estimate),
                  let refusal = refusal(in: slot, adding: estimate) else { continue }
            spent.append(refusal)
        }
        var named = spent.first ?? first
        for refusal in spent.dropFirst() where (refusal.resetsAt ?? .max) > (named.resetsAt ?? .max) { named = refusal }
        return named
    }

    /// True when asking cannot help this member admit `estimate` in `key`: the window is
    /// fenced, or what this member lacks exceeds, in some unit, what the other holders (the
    /// pool of a pooled window among them) have unused as far as it knows.
    public func isSpent(_ key: WindowKey, for estimate: Usage) -> Bool {
        guard let state = state(key) else { return false }
        if state.fenced { return true }
        let lacking = state.shortfall(for: estimate)
        return lacking != .zero && !lacking.isWithin(spareElsewhere(in: key))
    }

    /// Replaces a reservation by the actual usage. Returns false if it was already settled
    /// or cancelled (each reservation settles exactly once).
    @discardableResult
    public mutating func settle(_ id: ReservationID, actual: Usage) -> Bool {
        precondition(actual.isNonNegative, "actual usage is never negative")
        guard let reservation = reservations.removeValue(forKey: id) else { return false }
        if actual != .zero { generation += 1 }
        for slot in reservation.slots {
            states[slot]!.settle(estimate: reservation.estimate, actual: actual)
            if actual != .zero { states[slot]!.changedAt = generation }
        }
        return true
    }

    /// Releases a reservation without usage. Returns false if it was already settled or
    /// cancelled.
    @discardableResult
    public mutating func cancel(_ id: ReservationID) -> Bool {
        guard let reservation = reservations.removeValue(forKey: id) else { return false }
        for slot in reservation.slots { states[slot]!.cancel(estimate: reservation.estimate) }
        return true
    }

    /// Reservations not yet settled or cancelled.
    public var openReservations: Int { reservations.count }

    /// The tightest limits in requests and in tokens over the windows an open reservation
    /// holds, with the reservation counted: what the admitted request's answer tells its
    /// caller. A provider key's quota is left out: the key is shared, and its figures
    /// would tell a caller how much others use. Empty for a reservation already ended.
    public func rateLimits(of id: ReservationID) -> RateLimits {
        var limits = RateLimits()
        for slot in reservations[id]?.slots ?? [] {
            guard let state = states[slot], state.key.quota.lane != .key else { continue }
            let window = state.rateLimits
            limits.tighten(requests: window.requests, tokens: window.tokens)
        }
        return limits
    }

    /// All members' settled usage in a window, as this member knows it.
    public func usage(in key: WindowKey) -> Usage { state(key)?.counter.totalUsed ?? .zero }

    /// This member's rights in a window (grants being made already deducted).
    public func rights(in key: WindowKey) -> Usage {
        guard let state = state(key) else { return .zero }
        return state.rights - state.grantingTotal
    }

    /// What this member could give away in a window: rights not used, reserved nor being
    /// granted.
    public func spare(in key: WindowKey) -> Usage { state(key)?.spare ?? .zero }

    /// The current window of `period`, computed once per window rather than per call.
    private mutating func currentWindow(_ period: Period, containing now: Int64) -> Window {
        if let window = currentWindows[period.ordinal], window.contains(now) { return window }
        let window = period.window(containing: now)
        currentWindows[period.ordinal] = window
        return window
    }

    func state(_ key: WindowKey) -> WindowState? { slots[key].flatMap { states[$0] } }

    /// The slot holding `key`, created with `make` when the window is new.
    mutating func slot(for key: WindowKey, make: (WindowKey) -> WindowState) -> Int {
        if let slot = slots[key] { return slot }
        var state = make(key)
        state.fenced = fence.covers(key)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            states[slot] = state
        } else {
            slot = states.count
            states.append(state)
        }
        slots[key] = slot
        return slot
    }

    /// Marks `slot`'s counter changed.
    mutating func touch(_ slot: Int) {
        generation += 1
        states[slot]!.changedAt = generation
    }

    /// Frees the slot of `key` (its window holds no reservation).
    mutating func remove(_ key: WindowKey) {
        guard let slot = slots.removeValue(forKey: key) else { return }
        precondition(states[slot]!.openReservations == 0, "a window with open reservations stays")
        states[slot] = nil
        freeSlots.append(slot)
    }

    /// Every live window's state.
    var liveStates: some Sequence<WindowState> { states.lazy.compactMap { $0 } }
}

extension Period {
    /// A dense index, for tables with one entry per period.
    var ordinal: Int {
        switch self {
        case .tenSeconds: 0
        case .minute: 1
        case .hour: 2
        case .day: 3
        case .week: 4
        case .month: 5
        case .infinite: 6
        }
    }
}
