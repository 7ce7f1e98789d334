/// Durability of a member's own slots (DESIGN.md section 4): a crash and restart may
/// over-count usage, but never forget admitted usage nor give the same rights twice.
///
/// A record per window holds the member's usage high-water mark (usage plus open
/// reservations, and some headroom) and every grant it made or is making. With
/// `tracksDurability` on, admission never passes the durable mark, and a grant is sent
/// only after its record is durable (`beginGrant`, write, `completeGrant`). Marks rise in
/// chunks, ahead of use, so admission rarely waits for a write.
extension QuotaLedger {
    /// This member's own slots, to persist: per window, its usage counting open
    /// reservations as used (a high-water mark: after a crash the reservations' outcome is
    /// unknown, so they count in full) and the grants it gave or is giving.
    public func durableSlots() -> [WindowUpdate] {
        liveStates.map { record(of: $0, mark: $0.ownUsed + $0.reserved) }
    }

    /// The records to write now: windows whose durable mark has less than half a chunk of
    /// headroom left, and the windows in `including` (grants in progress). Each record's
    /// mark is never below an earlier one. Confirm with `confirmDurable` once written.
    ///
    /// A chunk is an eighth of the member's rights, and at least four of the latest
    /// estimates; `minimumChunk` raises it further.
    public func recordsToPersist(including: Set<WindowKey> = [], minimumChunk: Usage = .zero) -> [WindowUpdate] {
        liveStates.compactMap { state in
            let inUse = state.ownUsed + state.reserved
            let chunk = state.chunk(minimum: minimumChunk)
            // Only capped units need headroom: admission never checks the others.
            let needsMark = WindowState.exceededUnit(inUse + chunk.half, state.durable, state.caps) != nil
            guard needsMark || including.contains(state.key) else { return nil }
            let mark = needsMark ? (inUse + chunk).joined(with: state.durable) : inUse.joined(with: state.durable)
            return record(of: state, mark: mark)
        }
    }

    /// Raises the durable marks to those of `records`, which are now on disk.
    public mutating func confirmDurable(_ records: [WindowUpdate]) {
        for record in records {
            guard let slot = slots[record.key] else { continue }
            states[slot]!.durable = states[slot]!.durable.joined(with: record.counter.used(by: member))
            states[slot]!.raiseAt = states[slot]!.durable - states[slot]!.chunk(minimum: .zero).half
        }
    }

    /// Loads a record written before a restart: the mark counts as used (the outcome of
    /// what was reserved then is unknown), and the grants as given.
    public mutating func restore(_ record: WindowUpdate) {
        merge(record)
        confirmDurable([record])
    }

    /// True when admitting `estimate` in `key` waits only for a higher durable mark.
    public func awaitsDurability(in key: WindowKey, for estimate: Usage) -> Bool {
        guard tracksDurability, let state = state(key) else { return false }
        return state.exceededUnit(adding: estimate, durability: false) == nil
            && state.exceededUnit(adding: estimate, durability: true) != nil
    }

    private func record(of state: WindowState, mark: Usage) -> WindowUpdate {
        var own = EscrowCounter()
        own.addUsed(mark, by: member)
        var given = state.counter.granted[member] ?? [:]
        for (receiver, amount) in state.granting { given[receiver, default: .zero] += amount }
        for (receiver, amount) in given where amount != .zero { own.grant(amount, from: member, to: receiver) }
        return state.update(with: own)
    }
}
