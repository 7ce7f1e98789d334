/// One window's replicated state as it travels between members.
public struct WindowUpdate: Equatable, Sendable {
    public var key: WindowKey
    public var members: [UInt64]
    public var end: Int64?
    public var caps: Caps
    public var counter: EscrowCounter
}

extension QuotaLedger {
    /// The windows' state that differs from `known` (what a peer acknowledged last), as
    /// deltas; with an empty `known`, the full state (anti-entropy).
    public func updates(since known: [WindowKey: EscrowCounter] = [:]) -> [WindowUpdate] {
        windows.compactMap { key, state in
            let delta = known[key].map { state.counter.delta(since: $0) } ?? state.counter
            guard !delta.isEmpty else { return nil }
            return WindowUpdate(key: key, members: state.members, end: state.end, caps: state.caps, counter: delta)
        }
    }

    /// Folds in a peer's update. A window met first through gossip takes the sender's
    /// member split.
    public mutating func merge(_ update: WindowUpdate) {
        if windows[update.key] == nil {
            windows[update.key] = WindowState(members: update.members, end: update.end, caps: update.caps, owner: member)
        }
        windows[update.key]!.counter.merge(update.counter)
    }

    /// The counters as they stand, to remember what a peer has been sent.
    public var counters: [WindowKey: EscrowCounter] { windows.mapValues(\.counter) }

    /// Drops windows that ended more than `graceMilliseconds` before `now` and hold no
    /// open reservation, so memory is bounded by the live windows. Returns how many.
    @discardableResult
    public mutating func expire(now: Int64, graceMilliseconds: Int64) -> Int {
        let expired = windows.filter { _, state in
            guard let end = state.end else { return false }
            return end + graceMilliseconds <= now && state.reserved == .zero
        }.map(\.key)
        for key in expired { windows[key] = nil }
        return expired.count
    }

    /// Live windows held.
    public var windowCount: Int { windows.count }
}

extension QuotaLedger {
    /// This member's own slots, to persist: per window, its usage counting open
    /// reservations as used (a high-water mark: after a crash the reservations' outcome is
    /// unknown, so they count in full) and the grants it gave. Merging these back after a
    /// restart can only over-count usage, never forget it, and never lets this member give
    /// away rights it already gave.
    public func durableSlots() -> [WindowUpdate] {
        windows.map { key, state in
            var own = EscrowCounter()
            own.addUsed(state.counter.used(by: member) + state.reserved, by: member)
            for (receiver, amount) in state.counter.granted[member] ?? [:] {
                own.grant(amount, from: member, to: receiver)
            }
            return WindowUpdate(key: key, members: state.members, end: state.end, caps: state.caps, counter: own)
        }
    }
}
