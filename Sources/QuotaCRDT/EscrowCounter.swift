/// The replicated state of one quota window: who used what, and who handed rights to
/// whom. A "bounded counter" built from G-counters (DESIGN.md section 4):
///
/// - `used[i]`: the settled usage admitted by member i. Only i increases its slot.
/// - `granted[i][j]`: rights member i has handed to member j. Only i increases it.
/// - rights(i) = base(i) + Σⱼ granted[j][i] − Σⱼ granted[i][j].
///
/// Merge takes the component-wise maximum of every slot, so it is commutative,
/// associative and idempotent, and a replica can only learn, never forget. Because only
/// the owner of rights can give them away, and only after checking it has them spare, no
/// interleaving of grants and merges can create rights: Σᵢ rights(i) = Σᵢ base(i) = cap.
public struct EscrowCounter: Equatable, Sendable {
    public private(set) var used: [UInt64: Usage] = [:]
    public private(set) var granted: [UInt64: [UInt64: Usage]] = [:]

    /// Distinct members a counter holds slots for: in `used`, among givers, and among one
    /// giver's receivers. A cluster has a handful of voters; more slots come only from a
    /// faulty peer, and merge ignores new ones past this bound, so every count stays
    /// small and encodable.
    public static let slotsMax = 256

    public init() {}

    /// Adds settled usage to `member`'s slot (called on `member` only).
    public mutating func addUsed(_ amount: Usage, by member: UInt64) {
        precondition(amount.isNonNegative, "usage only grows")
        used[member, default: .zero] += amount
    }

    /// Records that `from` hands `amount` of its rights to `to` (called on `from` only,
    /// after checking the rights are spare).
    public mutating func grant(_ amount: Usage, from: UInt64, to: UInt64) {
        precondition(amount.isNonNegative && from != to, "a grant is a positive amount to another member")
        granted[from, default: [:]][to, default: .zero] += amount
    }

    /// `member`'s rights given its base share.
    public func rights(of member: UInt64, base: Usage) -> Usage {
        var rights = base
        for (giver, grants) in granted {
            if let received = grants[member], giver != member { rights += received }
        }
        for (_, given) in granted[member] ?? [:] { rights = rights - given }
        return rights
    }

    /// The settled usage of every member together.
    public var totalUsed: Usage { used.values.reduce(.zero, +) }

    /// `member`'s own slot.
    public func used(by member: UInt64) -> Usage { used[member] ?? .zero }

    /// Folds in another replica's state. Returns true when `self` learned anything.
    @discardableResult
    public mutating func merge(_ other: EscrowCounter) -> Bool {
        var learned = false
        for (member, amount) in other.used {
            let existing = used[member]
            if existing == nil && used.count >= Self.slotsMax { continue }
            let joined = (existing ?? .zero).joined(with: amount)
            if existing != joined {
                used[member] = joined
                if joined != existing ?? .zero { learned = true }
            }
        }
        for (giver, grants) in other.granted {
            if granted[giver] == nil && granted.count >= Self.slotsMax { continue }
            for (receiver, amount) in grants {
                let existing = granted[giver]?[receiver]
                if existing == nil && (granted[giver]?.count ?? 0) >= Self.slotsMax { continue }
                let joined = (existing ?? .zero).joined(with: amount)
                if existing != joined {
                    granted[giver, default: [:]][receiver] = joined
                    if joined != existing ?? .zero { learned = true }
                }
            }
        }
        return learned
    }

    /// The slots of `self` that are ahead of `known` (what a peer last acknowledged):
    /// merging the delta into `known` gives `self`'s state for those slots. Empty when
    /// there is nothing new.
    public func delta(since known: EscrowCounter) -> EscrowCounter {
        var delta = EscrowCounter()
        for (member, amount) in used where known.used[member] != amount {
            delta.used[member] = amount
        }
        for (giver, grants) in granted {
            for (receiver, amount) in grants where known.granted[giver]?[receiver] != amount {
                delta.granted[giver, default: [:]][receiver] = amount
            }
        }
        return delta
    }

    /// True when the counter holds nothing.
    public var isEmpty: Bool { used.isEmpty && granted.isEmpty }
}
