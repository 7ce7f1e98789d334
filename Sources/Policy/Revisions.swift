/// Who a quota applies to.
public enum QuotaLane: String, Codable, CaseIterable, Sendable {
    case token, key, principal, user, app, org
}

/// A quota window's length; windows are aligned to the UTC calendar (see QuotaCRDT).
public enum QuotaPeriod: String, Codable, CaseIterable, Sendable {
    case tenSeconds = "10s"
    case minute, hour, day, week, month, infinite
}

/// Which revisions a query shows.
public enum RevisionStatus: String, Codable, CaseIterable, Sendable {
    /// Revisions in force: the latest for their quota (or price) and not a revocation.
    case active
    /// Revocations.
    case revoked
    /// Upserts a later revision of the same quota (or price) replaced.
    case superseded
    case all
}

/// One append-only quota revision: an upsert, or (`revoked`) a revocation of the quota
/// `(lane, subject, name)`. A later revision supersedes an earlier one; none is ever
/// changed or deleted.
public struct QuotaRevision: Codable, Equatable, Hashable, Sendable {
    /// 1, 2, 3 … in log order, shared by all quota revisions.
    public var id: Int
    public var lane: QuotaLane
    public var subject: String
    public var name: String
    /// nil on a revocation.
    public var period: QuotaPeriod?
    public var maxMicroUSD: Int64?
    public var maxTokens: Int64?
    public var maxRequests: Int64?
    /// Whether unused allowance carries into the next window.
    public var rollover: Bool
    public var revoked: Bool
    public var stamp: AuditStamp

    /// A record with every field given.
    public init(id: Int, lane: QuotaLane, subject: String, name: String, period: QuotaPeriod?, maxMicroUSD: Int64?, maxTokens: Int64?, maxRequests: Int64?, rollover: Bool, revoked: Bool, stamp: AuditStamp) {
        self.id = id
        self.lane = lane
        self.subject = subject
        self.name = name
        self.period = period
        self.maxMicroUSD = maxMicroUSD
        self.maxTokens = maxTokens
        self.maxRequests = maxRequests
        self.rollover = rollover
        self.revoked = revoked
        self.stamp = stamp
    }
}

/// Where a price applies, from the most to the least specific.
public enum PricingScope: String, Codable, CaseIterable, Sendable {
    /// A provider credential: `key:openai:prod`.
    case key
    /// A provider's model: `openai:gpt-4o`, `ollama:gemma4:e2b`.
    case providerModel = "provider_model"
    /// A model name on any provider: `gpt-4o`.
    case model
}

/// One append-only pricing revision: prices in nano-USD per 1,000 tokens (so 0.0000375
/// USD is exactly 37,500), or (`revoked`) a revocation of the price of `(scope, subject)`.
public struct PricingRevision: Codable, Equatable, Hashable, Sendable {
    public var id: Int
    public var scope: PricingScope
    public var subject: String
    public var inputNanoUSDPer1k: Int64?
    public var outputNanoUSDPer1k: Int64?
    /// nil: cached input costs the input price.
    public var cachedInputNanoUSDPer1k: Int64?
    public var note: String?
    public var revoked: Bool
    public var stamp: AuditStamp

    /// A record with every field given.
    public init(id: Int, scope: PricingScope, subject: String, inputNanoUSDPer1k: Int64?, outputNanoUSDPer1k: Int64?, cachedInputNanoUSDPer1k: Int64?, note: String?, revoked: Bool, stamp: AuditStamp) {
        self.id = id
        self.scope = scope
        self.subject = subject
        self.inputNanoUSDPer1k = inputNanoUSDPer1k
        self.outputNanoUSDPer1k = outputNanoUSDPer1k
        self.cachedInputNanoUSDPer1k = cachedInputNanoUSDPer1k
        self.note = note
        self.revoked = revoked
        self.stamp = stamp
    }
}

/// One audit record: who did what to which record, when and why.
public struct HistoryRecord: Codable, Equatable, Hashable, Sendable {
    /// 1, 2, 3 … in log order.
    public var id: Int
    /// `user.put`, `token.revoke`, `quota.upsert` …
    public var action: String
    /// The record or revision subject acted on.
    public var subject: String
    /// A short human-readable account of the change (never a secret).
    public var summary: String
    public var stamp: AuditStamp

    /// A record with every field given.
    public init(id: Int, action: String, subject: String, summary: String, stamp: AuditStamp) {
        self.id = id
        self.action = action
        self.subject = subject
        self.summary = summary
        self.stamp = stamp
    }
}
