/// An amount in the three units a quota can cap. Every component is ≥ 0 where the type
/// stands for usage, rights or grants.
public struct Usage: Hashable, Sendable, CustomStringConvertible {
    public var requests: Int64
    public var tokens: Int64
    public var microUSD: Int64

    public init(requests: Int64 = 0, tokens: Int64 = 0, microUSD: Int64 = 0) {
        self.requests = requests
        self.tokens = tokens
        self.microUSD = microUSD
    }

    public static let zero = Usage()

    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(requests: a.requests + b.requests, tokens: a.tokens + b.tokens, microUSD: a.microUSD + b.microUSD)
    }

    public static func - (a: Usage, b: Usage) -> Usage {
        Usage(requests: a.requests - b.requests, tokens: a.tokens - b.tokens, microUSD: a.microUSD - b.microUSD)
    }

    public static func += (a: inout Usage, b: Usage) { a = a + b }

    /// Component-wise maximum: the merge of two G-counter readings.
    public func joined(with other: Usage) -> Usage {
        Usage(requests: max(requests, other.requests), tokens: max(tokens, other.tokens), microUSD: max(microUSD, other.microUSD))
    }

    /// True when no component is negative.
    public var isNonNegative: Bool { requests >= 0 && tokens >= 0 && microUSD >= 0 }

    /// True when `self` is component-wise ≤ `other`.
    public func isWithin(_ other: Usage) -> Bool {
        requests <= other.requests && tokens <= other.tokens && microUSD <= other.microUSD
    }

    public var description: String { "\(requests) req, \(tokens) tok, \(microUSD) µ$" }
}

/// The caps of a quota; nil means that unit is not capped.
public struct Caps: Hashable, Sendable {
    public var requests: Int64?
    public var tokens: Int64?
    public var microUSD: Int64?

    public init(requests: Int64? = nil, tokens: Int64? = nil, microUSD: Int64? = nil) {
        precondition([requests, tokens, microUSD].allSatisfy { ($0 ?? 0) >= 0 }, "caps are never negative")
        self.requests = requests
        self.tokens = tokens
        self.microUSD = microUSD
    }

    /// The capped units as usage; an uncapped unit counts as 0 (it has no rights to share).
    public var asUsage: Usage { Usage(requests: requests ?? 0, tokens: tokens ?? 0, microUSD: microUSD ?? 0) }

    /// True when `total` stays within `limit` in every capped unit (uncapped units are
    /// never refused).
    public func admits(_ total: Usage, within limit: Usage) -> Bool {
        (requests == nil || total.requests <= limit.requests)
            && (tokens == nil || total.tokens <= limit.tokens)
            && (microUSD == nil || total.microUSD <= limit.microUSD)
    }

    /// Member `member`'s base share of the caps when they are split over `members`: an
    /// equal part, the remainder going one unit each to the first members in id order, so
    /// the shares always add up to the cap exactly. Uncapped units have no share.
    public func baseShare(of member: UInt64, among members: [UInt64]) -> Usage {
        let sorted = members.sorted()
        guard let position = sorted.firstIndex(of: member) else { return .zero }
        return asUsage.part(position, of: sorted.count)
    }
}
