/// One live window as a member holds it: the replicated escrow counter plus what only
/// this member knows (its reservations, the grants it is making, its durable mark).
/// Caches the member's own rights and usage, which admission reads every time.
struct WindowState: Sendable {
    let key: WindowKey
    /// The member holding this state.
    let owner: UInt64
    /// The members the cap is split over, fixed when the window starts.
    let members: [UInt64]
    let end: Int64?
    private(set) var counter = EscrowCounter()
    /// The latest caps seen for the window (a new revision changes them mid-window).
    private(set) var caps: Caps
    /// The owner's base share of `caps`.
    private(set) var base: Usage
    /// The owner's rights: base + received − given (cached from `counter`).
    private(set) var rights: Usage
    /// The owner's settled usage (cached from `counter`).
    private(set) var ownUsed = Usage.zero
    /// Every member's settled usage as the owner knows it (cached from `counter`).
    private(set) var totalUsed = Usage.zero
    /// Reserved, not yet settled amounts, and how many reservations hold them.
    var reserved = Usage.zero
    var openReservations = 0
    /// Rights promised to peers whose record is not yet durable, by receiver. They count
    /// against the owner's rights at once and enter the counter once durable.
    private(set) var granting: [UInt64: Usage] = [:]
    private(set) var grantingTotal = Usage.zero
    /// The owner's usage high-water mark known to be durable (used + reserved may not
    /// pass it when the ledger tracks durability).
    var durable = Usage.zero
    /// The latest estimate asked for: sizes the next durable chunk.
    var lastEstimate = Usage.zero
    /// The ledger's generation when the counter last changed (gossip sends windows that
    /// changed since a peer was last sent the state).
    var changedAt: UInt64 = 0
    /// Once used + reserved pass this in a capped unit, the next mark is due.
    var raiseAt = Usage.zero
    /// The owner lost its own record of this window (unreadable at start), so it may have
    /// used or given any part of its rights: it admits nothing and gives nothing here.
    var fenced = false

    /// How far a new durable mark reaches past the usage: an eighth of the rights, and
    /// at least the headroom of the latest estimates.
    func chunk(minimum: Usage) -> Usage {
        let headroom = lastEstimate.times(QuotaLedger.headroomEstimates)
        return Usage(
            requests: max(rights.requests / 8, headroom.requests, minimum.requests, 1),
            tokens: max(rights.tokens / 8, headroom.tokens, minimum.tokens, 1),
            microUSD: max(rights.microUSD / 8, headroom.microUSD, minimum.microUSD, 1))
    }

    /// True when used + reserved have passed the point where the next mark is due.
    var wantsHigherMark: Bool { Self.exceededUnit(ownUsed + reserved, raiseAt, caps) != nil }

    init(key: WindowKey, owner: UInt64, members: [UInt64], end: Int64?, caps: Caps) {
        self.key = key
        self.owner = owner
        self.members = members
        self.end = end
        self.caps = caps
        base = caps.baseShare(of: owner, among: members)
        rights = base
    }

    mutating func update(caps newCaps: Caps) {
        guard newCaps != caps else { return }
        caps = newCaps
        base = newCaps.baseShare(of: owner, among: members)
        rights = counter.rights(of: owner, base: base)
    }

    /// True when the cap starts in the pool (no node has a base share).
    var isPooled: Bool { members == [QuotaLedger.poolMember] }

    /// Every member that may hold rights: the split's members and every giver and
    /// receiver of a grant.
    var holders: [UInt64] {
        var found = Set(members)
        for (giver, grants) in counter.granted {
            found.insert(giver)
            for receiver in grants.keys { found.insert(receiver) }
        }
        return found.sorted()
    }

    /// One allocation from the pool: the larger of `allocationEstimates` of the latest
    /// estimate and `allocationPercent` of the cap, in every unit.
    var allocationSize: Usage {
        let percent = QuotaLedger.allocationPercent
        let byCap = Usage(
            requests: (caps.requests ?? 0) / 100 * percent, tokens: (caps.tokens ?? 0) / 100 * percent,
            microUSD: (caps.microUSD ?? 0) / 100 * percent)
        return lastEstimate.times(QuotaLedger.allocationEstimates).joined(with: byCap)
    }

    /// The spare below which the owner tops up: half an allocation in a pooled window
    /// (it then asks for what brings it back to one), `headroomEstimates` of the latest
    /// estimate otherwise.
    var topUpBelow: Usage {
        isPooled ? allocationSize.half : lastEstimate.times(QuotaLedger.headroomEstimates)
    }

    /// Usage that counts against the owner's rights.
    var committed: Usage { ownUsed + reserved + grantingTotal }

    /// The unit that admitting `estimate` would exceed (rights first, then the cap over
    /// the usage known cluster-wide, then the durable mark when `durability` is on), or
    /// nil when it fits.
    ///
    /// With Σ rights = cap, the second check never refuses what the first admits, except
    /// when usage elsewhere passed the rights it had: actual usage above estimates, or a
    /// cap lowered mid-window (members past their new share keep their usage). A lowered
    /// cap then holds as soon as a member has heard of the others' usage.
    func exceededUnit(adding estimate: Usage, durability: Bool) -> String? {
        if fenced { return caps.firstCappedUnit }
        let total = committed + estimate
        if let unit = Self.exceededUnit(total, rights, caps) { return unit }
        if let unit = Self.exceededUnit(totalUsed + reserved + grantingTotal + estimate, caps.asUsage, caps) { return unit }
        if durability { return Self.exceededUnit(ownUsed + reserved + estimate, durable, caps) }
        return nil
    }

    static func exceededUnit(_ total: Usage, _ limit: Usage, _ caps: Caps) -> String? {
        if caps.requests != nil && total.requests > limit.requests { return "requests" }
        if caps.tokens != nil && total.tokens > limit.tokens { return "tokens" }
        if caps.microUSD != nil && total.microUSD > limit.microUSD { return "micro_usd" }
        return nil
    }

    /// What the owner lacks to admit `estimate` (zero in a unit where it has enough, and
    /// in uncapped units).
    func shortfall(for estimate: Usage) -> Usage {
        if fenced { return .zero }  // more rights would be stranded here, not used
        let missing = committed + estimate - rights
        func need(_ value: Int64, capped: Bool) -> Int64 { capped ? max(0, value) : 0 }
        return Usage(
            requests: need(missing.requests, capped: caps.requests != nil),
            tokens: need(missing.tokens, capped: caps.tokens != nil),
            microUSD: need(missing.microUSD, capped: caps.microUSD != nil))
    }

    /// Rights neither used, reserved nor being granted (never negative).
    var spare: Usage { fenced ? .zero : (rights - committed).clampedAtZero }

    mutating func settle(estimate: Usage, actual: Usage) {
        reserved = reserved - estimate
        openReservations -= 1
        counter.addUsed(actual, by: owner)
        ownUsed += actual
        totalUsed += actual
    }

    mutating func cancel(estimate: Usage) {
        reserved = reserved - estimate
        openReservations -= 1
    }

    /// Returns true when the counter learned anything.
    mutating func merge(_ other: EscrowCounter) -> Bool {
        guard counter.merge(other) else { return false }
        refresh()
        return true
    }

    mutating func beginGrant(_ amount: Usage, to receiver: UInt64) {
        granting[receiver, default: .zero] += amount
        grantingTotal += amount
    }

    /// Takes back a promised grant that was never sent (its write failed).
    mutating func abortGrant(_ amount: Usage, to receiver: UInt64) {
        let pending = granting[receiver] ?? .zero
        precondition(amount.isWithin(pending), "aborting a grant that was not begun")
        granting[receiver] = pending - amount == .zero ? nil : pending - amount
        grantingTotal = grantingTotal - amount
    }

    /// Moves a promised grant into the counter (its record is durable now).
    mutating func completeGrant(_ amount: Usage, to receiver: UInt64) {
        let pending = granting[receiver] ?? .zero
        precondition(amount.isWithin(pending), "completing a grant that was not begun")
        granting[receiver] = pending - amount == .zero ? nil : pending - amount
        grantingTotal = grantingTotal - amount
        counter.grant(amount, from: owner, to: receiver)
        refresh()
    }

    private mutating func refresh() {
        rights = counter.rights(of: owner, base: base)
        ownUsed = counter.used(by: owner)
        totalUsed = counter.totalUsed
    }

    /// The window as it travels: `counter` is the full state or a delta of it.
    func update(with counter: EscrowCounter) -> WindowUpdate {
        WindowUpdate(key: key, members: members, end: end, caps: caps, counter: counter)
    }
}

extension Usage {
    /// Part `position` of `self` split evenly over `count` parts, the remainder one unit
    /// each to the first parts: the parts always add up to `self`.
    func part(_ position: Int, of count: Int) -> Usage {
        func share(_ total: Int64) -> Int64 { total / Int64(count) + (Int64(position) < total % Int64(count) ? 1 : 0) }
        return Usage(requests: share(requests), tokens: share(tokens), microUSD: share(microUSD))
    }

    /// Every component multiplied by `factor`, saturating.
    func times(_ factor: Int64) -> Usage {
        Usage(requests: requests.saturatingMultiply(factor), tokens: tokens.saturatingMultiply(factor), microUSD: microUSD.saturatingMultiply(factor))
    }

    /// Every component halved (rounded down).
    var half: Usage { Usage(requests: requests / 2, tokens: tokens / 2, microUSD: microUSD / 2) }

    /// `self` in the units `caps` caps, zero in the others (they need no rights).
    func keepingCapped(_ caps: Caps) -> Usage {
        Usage(requests: caps.requests == nil ? 0 : requests, tokens: caps.tokens == nil ? 0 : tokens,
              microUSD: caps.microUSD == nil ? 0 : microUSD)
    }

    /// Every negative component raised to zero.
    var clampedAtZero: Usage { Usage(requests: max(0, requests), tokens: max(0, tokens), microUSD: max(0, microUSD)) }
}
