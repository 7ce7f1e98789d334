extension QuotaLedger {
    /// How much more this member needs in a window to admit `estimate` (zero in a unit
    /// where it has enough), to ask peers for.
    public func shortfall(in key: WindowKey, for estimate: Usage) -> Usage {
        guard let state = windows[key] else { return .zero }
        let missing = state.counter.used(by: member) + state.reserved + estimate - rights(in: key)
        func need(_ value: Int64, capped: Bool) -> Int64 { capped ? max(0, value) : 0 }
        return Usage(
            requests: need(missing.requests, capped: state.caps.requests != nil),
            tokens: need(missing.tokens, capped: state.caps.tokens != nil),
            microUSD: need(missing.microUSD, capped: state.caps.microUSD != nil))
    }

    /// Answers a peer's request for rights: grants what was asked when this member has it
    /// spare, otherwise all of its spare (near a window's end the last rights must gather
    /// where the demand is, in one round trip), unit by unit.
    /// The grant is recorded in the counter, so it reaches the requester by gossip (or
    /// with the reply). Only the owner of rights gives them away, so no race creates
    /// rights. Returns the amount granted.
    public mutating func grantRights(in key: WindowKey, to requester: UInt64, requested: Usage) -> Usage {
        guard requester != member, windows[key] != nil else { return .zero }
        let spare = spare(in: key)
        func give(_ asked: Int64, _ available: Int64) -> Int64 {
            guard asked > 0, available > 0 else { return 0 }
            return min(asked, available)
        }
        let amount = Usage(
            requests: give(requested.requests, spare.requests), tokens: give(requested.tokens, spare.tokens),
            microUSD: give(requested.microUSD, spare.microUSD))
        if amount != .zero { windows[key]!.counter.grant(amount, from: member, to: requester) }
        return amount
    }

    /// Before leaving the cluster: hands this member's spare rights in every window to the
    /// remaining members, split evenly (the remainder to the first in id order).
    public mutating func handBackRights(to remaining: [UInt64]) {
        let receivers = remaining.filter { $0 != member }.sorted()
        guard !receivers.isEmpty else { return }
        for key in windows.keys {
            let spare = spare(in: key)
            for (position, receiver) in receivers.enumerated() {
                func part(_ total: Int64) -> Int64 {
                    total / Int64(receivers.count) + (Int64(position) < total % Int64(receivers.count) ? 1 : 0)
                }
                let amount = Usage(requests: part(spare.requests), tokens: part(spare.tokens), microUSD: part(spare.microUSD))
                if amount != .zero { windows[key]!.counter.grant(amount, from: member, to: receiver) }
            }
        }
    }
}
