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

    /// The component-wise sum, saturating at `Int64.max` and `Int64.min`: amounts come
    /// from peers and providers, and a counter that pins at its bound refuses further
    /// admissions instead of trapping or wrapping round to room it never had.
    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(requests: a.requests.saturatingAdd(b.requests), tokens: a.tokens.saturatingAdd(b.tokens), microUSD: a.microUSD.saturatingAdd(b.microUSD))
    }

    /// The component-wise difference, saturating like `+`.
    public static func - (a: Usage, b: Usage) -> Usage {
        Usage(requests: a.requests.saturatingSubtract(b.requests), tokens: a.tokens.saturatingSubtract(b.tokens),
              microUSD: a.microUSD.saturatingSubtract(b.microUSD))
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

    /// The name of the first capped unit (as refusals name it), or nil when none is capped.
    var firstCappedUnit: String? {
        requests != nil ? "requests" : tokens != nil ? "tokens" : microUSD != nil ? "micro_usd" : nil
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

extension Int64 {
    /// `self + other`, pinned at `Int64.max` or `Int64.min` instead of overflowing.
    @inlinable public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, pinned at `Int64.max` or `Int64.min` instead of overflowing.
    @inlinable public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self * other`, pinned at `Int64.max` or `Int64.min` instead of overflowing.
    @inlinable public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}
