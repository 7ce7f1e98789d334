/// A member reborn under an old id (its disk wiped, or replaced, and the node joined back
/// under the same id): the escrow counters still hold what its earlier life used and was
/// given, but its own record of that is gone. Admitting against those rights again would
/// spend them twice, and the counters would hide it (a slot merges by maximum, so the new
/// life's usage disappears under the old one's). docs/quotas.md, "A node reborn under its
/// old id".
extension QuotaLedger {
    /// The windows that started before `time` and show anything of `member`: a base share
    /// (a split over it), usage, or rights handed to or by it. At a new life's first
    /// catch-up, these are the windows of an earlier one.
    public func earlierLife(of member: UInt64, inWindowsStartedBefore time: Int64) -> Set<WindowKey> {
        var keys: Set<WindowKey> = []
        for (key, slot) in slots where key.start < time {
            guard let state = states[slot] else { continue }
            let counter = state.counter
            if state.members.contains(member)
                || (counter.used[member] ?? .zero) != .zero
                || counter.granted[member]?.values.contains(where: { $0 != .zero }) == true
                || counter.granted.contains(where: { giver, grants in giver != member && (grants[member] ?? .zero) != .zero }) {
                keys.insert(key)
            }
        }
        return keys
    }
}
