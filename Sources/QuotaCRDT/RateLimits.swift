/// What is left of one quota window in one unit, as a member knows it: the caps minus all
/// members' settled usage it has heard of and its own open reservations. Another member's
/// reservations still open are not in it, so in a cluster "remaining" is an upper bound
/// that admission, not this view, enforces (docs/quotas.md, "Rate-limit headers").
public struct RateLimit: Equatable, Sendable {
    public var limit: Int64
    public var remaining: Int64
    /// When the window resets, in ms since the epoch; nil for the infinite window.
    public var resetsAt: Int64?

    public init(limit: Int64, remaining: Int64, resetsAt: Int64?) {
        self.limit = limit
        self.remaining = remaining
        self.resetsAt = resetsAt
    }

    init(cap: Int64, used: Int64, resetsAt: Int64?) {
        self.init(limit: cap, remaining: max(0, cap.saturatingSubtract(used)), resetsAt: resetsAt)
    }

    /// True when `self` binds before `other`: less remains; or as much, and it resets
    /// later (never, the latest); or that too, and its limit is smaller.
    func binds(before other: RateLimit) -> Bool {
        if remaining != other.remaining { return remaining < other.remaining }
        if resetsAt != other.resetsAt { return (resetsAt ?? .max) > (other.resetsAt ?? .max) }
        return limit < other.limit
    }
}

/// The tightest rate limit in requests and in tokens over the quotas one request met:
/// what OpenAI's `x-ratelimit-*` and Anthropic's `anthropic-ratelimit-*` headers tell.
public struct RateLimits: Equatable, Sendable {
    public var requests: RateLimit?
    public var tokens: RateLimit?

    public init(requests: RateLimit? = nil, tokens: RateLimit? = nil) {
        self.requests = requests
        self.tokens = tokens
    }

    /// Keeps the tighter of what is held and `candidate`, per unit.
    mutating func tighten(requests candidate: RateLimit?, tokens tokenCandidate: RateLimit?) {
        if let candidate, requests.map({ candidate.binds(before: $0) }) ?? true { requests = candidate }
        if let tokenCandidate, tokens.map({ tokenCandidate.binds(before: $0) }) ?? true { tokens = tokenCandidate }
    }
}

extension WindowState {
    /// This window's limits in requests and tokens, as the owner knows them now.
    var rateLimits: RateLimits {
        let used = totalUsed + reserved
        return RateLimits(
            requests: caps.requests.map { RateLimit(cap: $0, used: used.requests, resetsAt: end) },
            tokens: caps.tokens.map { RateLimit(cap: $0, used: used.tokens, resetsAt: end) })
    }
}

extension QuotaRefusal {
    /// The refusing window's limits as the refusing member knew them. In the unit that
    /// refused, nothing remains for this caller until the reset: what is left of the cap
    /// may lie with members it cannot reach, or be smaller than the request.
    public var rateLimits: RateLimits {
        RateLimits(
            requests: caps.requests.map { RateLimit(cap: $0, used: unit == "requests" ? $0 : used.requests, resetsAt: resetsAt) },
            tokens: caps.tokens.map { RateLimit(cap: $0, used: unit == "tokens" ? $0 : used.tokens, resetsAt: resetsAt) })
    }
}
