extension QuotaLedger {
    /// How much more this member needs in a window to admit `estimate` (zero in a unit
    /// where it has enough), to ask peers for.
    public func shortfall(in key: WindowKey, for estimate: Usage) -> Usage {
        state(key)?.shortfall(for: estimate) ?? .zero
    }

    /// Every window of a request for `estimate` against `quotas` at `now` where this member
    /// lacks rights, with what it lacks, except `skipping`; a window met for the first time
    /// is created as `reserve` would create it. A refused request asks for all of them at
    /// once: asked one refusal after another, a request whose windows all need rights (a
    /// cold start, a minute's turn that is also a 10 s turn) spent a round trip on each
    /// and could run out of its wait.
    public mutating func lackingWindows(
        for estimate: Usage, against quotas: [QuotaSpec], now: Int64, skipping: WindowKey,
        membersAt: (Int64) -> [UInt64]
    ) -> [(key: WindowKey, shortfall: Usage)] {
        var found: [(key: WindowKey, shortfall: Usage)] = []
        for spec in quotas {
            let window = spec.period.window(containing: now)
            guard WindowKey(quota: spec.id, period: spec.period, start: window.start) != skipping else { continue }
            let slot = preparedSlot(for: spec, in: window, estimate: estimate, membersAt: membersAt)
            let lacking = states[slot]?.shortfall(for: estimate) ?? .zero
            if lacking != .zero, let key = states[slot]?.key { found.append((key, lacking)) }
        }
        return found
    }

    /// True when `reserve` would now admit `estimate` in `key` (as far as this window goes):
    /// a refusal read moments ago may be stale, since a settle, a cancel or an applied
    /// allocation can free or add rights between the refusal and the decision to wait.
    public func admits(_ estimate: Usage, in key: WindowKey) -> Bool {
        guard let state = state(key) else { return false }
        return state.exceededUnit(adding: estimate, durability: tracksDurability) == nil
    }

    /// The top-ups `reserve` found due since the last call: windows where this member's
    /// rights would not fit `headroomEstimates` more of an admitted estimate, with what it
    /// lacks, to ask peers for before requests have to wait.
    public mutating func takeTopUps() -> [(key: WindowKey, amount: Usage)] {
        defer { topUps = [] }
        return topUps
    }

    /// Rights the other members of a window hold unused, as far as this member knows:
    /// their rights minus their settled usage (their reservations are invisible here).
    /// Zero means asking peers cannot help.
    public func spareElsewhere(in key: WindowKey) -> Usage {
        guard let state = state(key) else { return .zero }
        var total = Usage.zero
        for peer in state.holders where peer != member {
            let base = state.caps.baseShare(of: peer, among: state.members)
            total += (state.counter.rights(of: peer, base: base) - state.counter.used(by: peer)).clampedAtZero
        }
        return total
    }

    /// What the pool of a pooled window has left, as this member knows it (it may have
    /// allocated more since: the log decides). Zero for a window split over nodes.
    public func poolRemaining(in key: WindowKey) -> Usage {
        guard let state = state(key), state.isPooled else { return .zero }
        let base = state.caps.baseShare(of: Self.poolMember, among: state.members)
        return state.counter.rights(of: Self.poolMember, base: base).clampedAtZero
    }

    /// True when `key` is pooled and the pool, as this member knows it, has something left
    /// in every unit `wanted` asks for: asking it may help (otherwise ask the peers).
    public func poolMayCover(_ wanted: Usage, in key: WindowKey) -> Bool {
        guard isPooled(key) else { return false }
        let left = poolRemaining(in: key)
        return (wanted.requests <= 0 || left.requests > 0) && (wanted.tokens <= 0 || left.tokens > 0)
            && (wanted.microUSD <= 0 || left.microUSD > 0)
    }

    /// True when `key`'s cap starts in the pool (see `QuotaPool`).
    public func isPooled(_ key: WindowKey) -> Bool { state(key)?.isPooled ?? false }

    /// What to ask the pool for to admit what lacks `shortfall`: the shortfall, or what
    /// brings this member's spare up to one allocation (`WindowState.allocationSize`) when
    /// that is more, in every capped unit. A member holds no more than one allocation
    /// ahead of its demand, so one that goes away strands at most that.
    public func allocation(in key: WindowKey, for shortfall: Usage) -> Usage {
        guard let state = state(key) else { return shortfall }
        let topUp = (state.allocationSize - state.spare).clampedAtZero
        return shortfall.joined(with: topUp).keepingCapped(state.caps)
    }

    /// Allocations to ask for in the windows that follow pooled windows ending within
    /// `horizon` ms of `now`, where this member has admitted anything and holds nothing
    /// yet: one allocation each, so the next window opens without waiting for a commit
    /// (nor for an election, should one be under way then).
    public func prefetches(now: Int64, horizon: Int64) -> [(key: WindowKey, amount: Usage)] {
        liveStates.compactMap { state in
            guard state.isPooled, let end = state.end, end > now, end - now <= horizon,
                  state.ownUsed != .zero || state.reserved != .zero else { return nil }
            let next = WindowKey(quota: state.key.quota, period: state.key.period, start: end)
            guard slots[next] == nil else { return nil }
            let amount = state.allocationSize.keepingCapped(state.caps)
            return amount == .zero ? nil : (next, amount)
        }
    }

    /// The member id of the pool: no node has it (node ids stop below it).
    public static let poolMember = UInt64.max
    /// Estimates one allocation covers, at least.
    public static let allocationEstimates: Int64 = 4
    /// The share of a cap one allocation covers, at least (percent).
    public static let allocationPercent: Int64 = 2

    /// Answers a peer's request for rights: grants what was asked when this member has it
    /// spare, otherwise all of its spare (near a window's end the last rights must gather
    /// where the demand is, in one round trip), unit by unit, minus what it keeps:
    ///
    /// - for an `.urgent` request (a request waits at the requester), this member keeps
    ///   what its own waiting requests need (`waiting`) from requesters with a higher id
    ///   and gives everything spare to lower ids: when several members are short at once,
    ///   the last rights gather at the lowest id instead of scattering in pieces none can
    ///   use (ordering by the oldest waiting request instead did worse in the simulator);
    /// - for a `.topUp` (the requester only runs low), it keeps what its waiting requests
    ///   need and its own headroom (`headroomEstimates` of its latest), so top-ups move rights
    ///   from idle members to busy ones but never back and forth between equally busy ones.
    ///
    /// The grant is recorded in the counter, so it reaches the requester by gossip (or
    /// with the reply). Only the owner of rights gives them away, so no race creates
    /// rights. Returns the amount granted.
    public mutating func grantRights(
        in key: WindowKey, to requester: UInt64, requested: Usage, kind: RightsRequestKind = .urgent,
        waiting: Usage = .zero
    ) -> Usage {
        let amount = beginGrant(in: key, to: requester, requested: requested, kind: kind, waiting: waiting)
        if amount != .zero { completeGrant(in: key, to: requester, amount: amount) }
        return amount
    }

    /// The first half of a grant that must be durable before it is sent: takes the amount
    /// out of this member's spare at once (so admission cannot use it meanwhile) without
    /// recording it in the counter (so gossip cannot send it yet). Finish with
    /// `completeGrant` once `recordsToPersist` has written it. See `grantRights`.
    public mutating func beginGrant(
        in key: WindowKey, to requester: UInt64, requested: Usage, kind: RightsRequestKind = .urgent,
        waiting: Usage = .zero
    ) -> Usage {
        guard requester != member, let slot = slots[key] else { return .zero }
        let state = states[slot]!
        var keep = requester > member ? waiting : .zero
        if kind == .topUp { keep = waiting.joined(with: state.lastEstimate.times(Self.headroomEstimates)) }
        let spare = (state.spare - keep).clampedAtZero
        func give(_ asked: Int64, _ available: Int64) -> Int64 {
            guard asked > 0, available > 0 else { return 0 }
            return min(asked, available)
        }
        let amount = Usage(
            requests: give(requested.requests, spare.requests), tokens: give(requested.tokens, spare.tokens),
            microUSD: give(requested.microUSD, spare.microUSD))
        if amount != .zero { states[slot]!.beginGrant(amount, to: requester) }
        return amount
    }

    /// Records a begun grant in the counter, from where gossip carries it.
    public mutating func completeGrant(in key: WindowKey, to requester: UInt64, amount: Usage) {
        guard let slot = slots[key] else { preconditionFailure("completing a grant in a window that is gone") }
        states[slot]!.completeGrant(amount, to: requester)
        touch(slot)
    }

    /// Takes back a begun grant whose record could not be written: it was never sent, so
    /// the rights are still this member's. (Should a later record carry it after all, a
    /// restart counts it as given: rights lost, never created.)
    public mutating func abortGrant(in key: WindowKey, to requester: UInt64, amount: Usage) {
        guard let slot = slots[key] else { preconditionFailure("aborting a grant in a window that is gone") }
        states[slot]!.abortGrant(amount, to: requester)
    }

    /// Before leaving the cluster: hands this member's spare rights in every window to the
    /// remaining members, split evenly (the remainder to the first in id order).
    public mutating func handBackRights(to remaining: [UInt64]) {
        for grant in beginHandBack(to: remaining) {
            completeGrant(in: grant.key, to: grant.receiver, amount: grant.amount)
        }
    }

    /// `handBackRights` in two halves, for a member whose grants must be durable first:
    /// begins every grant and returns them, to complete after writing the records.
    public mutating func beginHandBack(to remaining: [UInt64]) -> [Grant] {
        let receivers = remaining.filter { $0 != member }.sorted()
        guard !receivers.isEmpty else { return [] }
        var grants: [Grant] = []
        for key in slots.keys {
            let spare = spare(in: key)
            for (position, receiver) in receivers.enumerated() {
                let amount = spare.part(position, of: receivers.count)
                guard amount != .zero else { continue }
                states[slots[key]!]!.beginGrant(amount, to: receiver)
                grants.append(Grant(key: key, receiver: receiver, amount: amount))
            }
        }
        return grants
    }
}

/// Rights handed from this member to another in one window.
public struct Grant: Equatable, Sendable {
    public var key: WindowKey
    public var receiver: UInt64
    public var amount: Usage
}

extension QuotaLedger {
    /// The rights a member removed by force still holds unused, as this member knows them,
    /// handed to `receivers` (split evenly, the remainder to the first in id order): one
    /// update per window, whose counter raises `granted[retired][receiver]` by each part.
    /// Applied on every node through the Raft log; merging takes the maximum, so a grant
    /// the retired member made that this member had not heard of yet is not counted twice.
    /// What the retired member admitted but never gossiped is the only possible excess.
    public func reassignment(of retired: UInt64, to receivers: [UInt64]) -> [WindowUpdate] {
        let receivers = receivers.filter { $0 != retired }.sorted()
        guard !receivers.isEmpty else { return [] }
        return liveStates.compactMap { state in
            // A pooled window's member kept what it was allocated: counted as used, never
            // handed on (it may still be alive and admitting against it).
            guard !state.isPooled, state.members.contains(retired) else { return nil }
            let base = state.caps.baseShare(of: retired, among: state.members)
            let spare = (state.counter.rights(of: retired, base: base) - state.counter.used(by: retired)).clampedAtZero
            guard spare != .zero else { return nil }
            var counter = EscrowCounter()
            for (position, receiver) in receivers.enumerated() {
                let known = state.counter.granted[retired]?[receiver] ?? .zero
                let amount = known + spare.part(position, of: receivers.count)
                if amount != .zero { counter.grant(amount, from: retired, to: receiver) }
            }
            return state.update(with: counter)
        }
    }
}

/// Why a member asks for rights.
public enum RightsRequestKind: UInt8, Sendable {
    /// A request waits for them.
    case urgent = 0
    /// The member runs low (`headroomEstimates` more of its latest estimate would not fit).
    case topUp = 1
}
