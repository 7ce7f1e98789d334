/// One window's replicated state as it travels between members.
public struct WindowUpdate: Equatable, Sendable {
    public var key: WindowKey
    public var members: [UInt64]
    public var end: Int64?
    public var caps: Caps
    public var counter: EscrowCounter

    public init(key: WindowKey, members: [UInt64], end: Int64?, caps: Caps, counter: EscrowCounter) {
        self.key = key
        self.members = members
        self.end = end
        self.caps = caps
        self.counter = counter
    }
}

extension QuotaLedger {
    /// The windows' state that differs from `known` (what a peer acknowledged last), as
    /// deltas; with an empty `known`, the full state (anti-entropy).
    public func updates(since known: [WindowKey: EscrowCounter] = [:]) -> [WindowUpdate] {
        liveStates.compactMap { state in
            let delta = known[state.key].map { state.counter.delta(since: $0) } ?? state.counter
            guard !delta.isEmpty else { return nil }
            return state.update(with: delta)
        }
    }

    /// The full state of every window whose counter changed after `generation` (a
    /// `generation` read earlier): what a peer sent everything up to then lacks at most.
    /// Costs a scan of the live windows, no copy of the counters.
    public func updates(changedAfter generation: UInt64) -> [WindowUpdate] {
        liveStates.compactMap { state in
            state.changedAt > generation && !state.counter.isEmpty ? state.update(with: state.counter) : nil
        }
    }

    /// The full state of one window, if this member holds it.
    public func update(for key: WindowKey) -> WindowUpdate? {
        state(key).map { $0.update(with: $0.counter) }
    }

    /// Folds in a peer's update. A window met first through gossip takes the sender's
    /// member split. Returns false when this member splits the window over other members
    /// than the sender does (their views of the membership disagreed at the window's start).
    @discardableResult
    public mutating func merge(_ update: WindowUpdate) -> Bool { merge(update) { _ in update.members } }

    /// `merge`, where a window met first through the update splits over
    /// `membersAt(start)`, this member's own view, rather than the sender's: a node that
    /// split it otherwise (behind the schedule) must not hand its split on.
    @discardableResult
    public mutating func merge(_ update: WindowUpdate, membersAt: (Int64) -> [UInt64]) -> Bool {
        let owner = member
        let slot = slot(for: update.key) {
            WindowState(key: $0, owner: owner, members: membersAt(update.key.start).sorted(), end: update.end, caps: update.caps)
        }
        if states[slot]!.merge(update.counter) { touch(slot) }
        return states[slot]!.members == update.members
    }

    /// The counters as they stand, to remember what a peer has been sent.
    public var counters: [WindowKey: EscrowCounter] {
        Dictionary(uniqueKeysWithValues: liveStates.map { ($0.key, $0.counter) })
    }

    /// Drops windows that ended more than `graceMilliseconds` before `now` and hold no
    /// open reservation nor grant in progress, so memory is bounded by the live windows.
    /// Returns their keys.
    @discardableResult
    public mutating func expire(now: Int64, graceMilliseconds: Int64) -> [WindowKey] {
        let expired = liveStates.filter { state in
            guard let end = state.end else { return false }
            return end.saturatingAdd(graceMilliseconds) <= now && state.openReservations == 0 && state.granting.isEmpty
        }.map(\.key)
        for key in expired { remove(key) }
        return expired
    }

    /// Live windows held.
    public var windowCount: Int { slots.count }
}
