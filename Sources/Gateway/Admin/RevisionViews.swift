import HTTPTypes
import Policy

/// Converts API amounts in USD to the integer units the policy keeps.
enum Money {
    /// USD → micro-USD; refuses amounts no cap can hold.
    static func micro(_ usd: Double?, field: String) throws -> Int64? {
        try scaled(usd, by: 1e6, field: field)
    }

    /// USD per 1k tokens → nano-USD per 1k tokens.
    static func nano(_ usd: Double?, field: String) throws -> Int64? {
        try scaled(usd, by: 1e9, field: field)
    }

    private static func scaled(_ value: Double?, by factor: Double, field: String) throws -> Int64? {
        guard let value else { return nil }
        let scaled = (value * factor).rounded()
        guard scaled.isFinite, abs(scaled) <= Double(PolicyState.capMax) else {
            throw AdminError(.unprocessableContent, "invalid_request", "\(field): \(value) is out of range", field: field)
        }
        return Int64(scaled)
    }

    static func usd(micro: Int64?) -> Double? { micro.map { Double($0) / 1e6 } }
    static func usd(nano: Int64?) -> Double? { nano.map { Double($0) / 1e9 } }
}

struct QuotaRevisionView: Encodable, Sendable {
    var id: Int, lane: String, subject: String, name: String, period: String?
    var max_usd: Double?, max_tokens: Int64?, max_requests: Int64?, rollover: Bool, revoked: Bool
    /// active (in force), superseded (a later revision exists) or revoked (a revocation).
    var status: String
    var created: AuditStamp

    init(_ r: QuotaRevision, _ state: PolicyState) {
        id = r.id; lane = r.lane.rawValue; subject = r.subject; name = r.name; period = r.period?.rawValue
        max_usd = Money.usd(micro: r.maxMicroUSD); max_tokens = r.maxTokens; max_requests = r.maxRequests
        rollover = r.rollover; revoked = r.revoked; created = r.stamp
        status = r.revoked ? "revoked" : (state.isActive(r) ? "active" : "superseded")
    }

    static let schema = Schema.object([
        .init("id", .integer(), required: true), .init("lane", .oneOf(QuotaLane.self), required: true),
        .init("subject", .text(), required: true), .init("name", .text(), required: true),
        .init("period", .oneOf(QuotaPeriod.self), required: true, nullable: true), .init("max_usd", .number(), nullable: true),
        .init("max_tokens", .integer(), nullable: true), .init("max_requests", .integer(), nullable: true),
        .init("rollover", .boolean(), required: true), .init("revoked", .boolean(), required: true),
        .init("status", .string(allowed: ["active", "superseded", "revoked"]), required: true), .init("created", .stamp, required: true),
    ])
}

struct QuotaBody: Decodable, Sendable {
    var lane: String, subject: String, name: String, period: String
    var max_usd: Double?, max_tokens: Int64?, max_requests: Int64?, rollover: Bool?, reason: String?

    func revision() throws -> QuotaRevision {
        QuotaRevision(
            id: 0, lane: try enumValue(lane, default: .user, field: "lane"), subject: subject, name: name,
            period: try enumValue(period, default: .hour, field: "period"), maxMicroUSD: try Money.micro(max_usd, field: "max_usd"),
            maxTokens: max_tokens, maxRequests: max_requests, rollover: rollover ?? false, revoked: false, stamp: .pending)
    }

    static let schema = Schema.object([
        .init("lane", .oneOf(QuotaLane.self), required: true),
        .init("subject", .plainID("the lane's record id (example: agent:azure-manual-demo)"), required: true),
        .init("name", .constrained(.string(description: "groups revisions (example: hour, burst)"), .init(pattern: "^[\\p{L}0-9_.-]{1,64}$")), required: true),
        .init("period", .oneOf(QuotaPeriod.self), required: true),
        .init("max_usd", .number(0...Double(PolicyState.capMax) / 1e6, "budget cap in USD")),
        .init("max_tokens", .integer(0...PolicyState.capMax)), .init("max_requests", .integer(0...PolicyState.capMax)),
        .init("rollover", .boolean(description: "unused allowance carries into the next window")), .init("reason", .freeText()),
    ], exclusive: [], oneOf: [["max_usd"], ["max_tokens"], ["max_requests"]])
}

struct QuotaRevokeBody: Decodable, Sendable {
    var lane: String, subject: String, name: String, reason: String?
    static let schema = Schema.object([
        .init("lane", .oneOf(QuotaLane.self), required: true), .init("subject", .text(), required: true),
        .init("name", .text(), required: true), .init("reason", .text("shown in the revision and the audit")),
    ])
}

struct PricingRevisionView: Encodable, Sendable {
    var id: Int, scope: String, subject: String
    var input_per_1k: Double?, output_per_1k: Double?, cached_input_per_1k: Double?, note: String?, revoked: Bool
    var status: String
    var created: AuditStamp

    init(_ r: PricingRevision, _ state: PolicyState) {
        id = r.id; scope = r.scope.rawValue; subject = r.subject; note = r.note; revoked = r.revoked; created = r.stamp
        input_per_1k = Money.usd(nano: r.inputNanoUSDPer1k); output_per_1k = Money.usd(nano: r.outputNanoUSDPer1k)
        cached_input_per_1k = Money.usd(nano: r.cachedInputNanoUSDPer1k)
        status = r.revoked ? "revoked" : (state.isActive(r) ? "active" : "superseded")
    }

    static let schema = Schema.object([
        .init("id", .integer(), required: true), .init("scope", .oneOf(PricingScope.self), required: true),
        .init("subject", .text(), required: true), .init("input_per_1k", .number(description: "USD per 1,000 input tokens"), nullable: true),
        .init("output_per_1k", .number(), nullable: true), .init("cached_input_per_1k", .number(), nullable: true),
        .init("note", .text(), nullable: true), .init("revoked", .boolean(), required: true),
        .init("status", .string(allowed: ["active", "superseded", "revoked"]), required: true), .init("created", .stamp, required: true),
    ])
}

struct PricingBody: Decodable, Sendable {
    var scope: String, subject: String
    var per_1k: Double?, input_per_1k: Double?, output_per_1k: Double?, cached_input_per_1k: Double?, note: String?, reason: String?

    func revision() throws -> PricingRevision {
        if per_1k != nil && (input_per_1k != nil || output_per_1k != nil) {
            throw AdminError.invalid("give per_1k, or input_per_1k and output_per_1k, not both", field: "per_1k")
        }
        return PricingRevision(
            id: 0, scope: try enumValue(scope, default: .model, field: "scope"), subject: subject,
            inputNanoUSDPer1k: try Money.nano(input_per_1k ?? per_1k, field: "input_per_1k"),
            outputNanoUSDPer1k: try Money.nano(output_per_1k ?? per_1k, field: "output_per_1k"),
            cachedInputNanoUSDPer1k: try Money.nano(cached_input_per_1k, field: "cached_input_per_1k"), note: note, revoked: false,
            stamp: .pending)
    }

    static let schema = Schema.object([
        .init("scope", .oneOf(PricingScope.self), required: true),
        .init("subject", .plainID("for provider_model use provider:model"), required: true),
        .init("per_1k", .number(0...Double(PolicyState.capMax) / 1e9, "sets both input and output, USD per 1k tokens (example: 0.002)")),
        .init("input_per_1k", .number(0...Double(PolicyState.capMax) / 1e9)), .init("output_per_1k", .number(0...Double(PolicyState.capMax) / 1e9)),
        .init("cached_input_per_1k", .number(0...Double(PolicyState.capMax) / 1e9, "default: the input price")), .init("note", .freeText()),
        .init("reason", .freeText()),
    ], exclusive: [["per_1k", "input_per_1k"], ["per_1k", "output_per_1k"]], oneOf: [["per_1k"], ["input_per_1k"], ["output_per_1k"]])
}

struct PricingRevokeBody: Decodable, Sendable {
    var scope: String, subject: String, reason: String?
    static let schema = Schema.object([
        .init("scope", .oneOf(PricingScope.self), required: true), .init("subject", .text("as in the upsert"), required: true),
        .init("reason", .text()),
    ])
}

struct HistoryRecordView: Encodable, Sendable {
    var id: Int, action: String, subject: String, summary: String, actor: String, at: Int64, reason: String?, index: UInt64

    init(_ h: HistoryRecord) {
        id = h.id; action = h.action; subject = h.subject; summary = h.summary
        actor = h.stamp.actor; at = h.stamp.at; reason = h.stamp.reason; index = h.stamp.index
    }

    static let schema = Schema.object([
        .init("id", .integer(), required: true), .init("action", .text(), required: true), .init("subject", .text(), required: true),
        .init("summary", .text(), required: true), .init("actor", .text(), required: true), .init("at", .integer(), required: true),
        .init("reason", .text(), nullable: true), .init("index", .integer(), required: true),
    ])
}
