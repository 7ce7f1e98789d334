import Foundation
import Policy

/// One line of the gateway logs.
struct LogLineView: Encodable, Sendable {
    var request: String, node: UInt64, time: Int64, token: String, principal: String, user: String?, app: String?
    var endpoint: String, requested_model: String, model: String?, provider: String?
    var input_tokens: Int, output_tokens: Int, micro_usd: Int64, cost_usd: Double
    var status: Int, error: String?, latency_ms: Double, stream: Bool, cached: Bool, attempts: Int, redactions: Int

    init(_ stored: StoredUsageEvent) {
        let e = stored.event
        request = stored.requestID
        node = stored.node
        time = e.time
        token = e.token
        principal = e.principal
        user = e.user
        app = e.app
        endpoint = e.endpoint
        requested_model = e.requestedModel
        model = e.model
        provider = e.provider
        input_tokens = e.inputTokens
        output_tokens = e.outputTokens
        micro_usd = e.microUSD
        cost_usd = usd(e.microUSD)
        status = e.status
        error = e.errorCode
        latency_ms = Double(e.latencyMicroseconds) / 1000
        stream = e.stream
        cached = e.cached
        attempts = e.attempts
        redactions = e.redactions
    }

    static let schema = Schema.object([
        .init("request", .text("n<node>-<sequence>, unique in the cluster"), required: true), .init("node", .integer(), required: true),
        .init("time", .integer(description: "ms since the epoch"), required: true), .init("token", .text(), required: true),
        .init("principal", .text(), required: true), .init("user", .text(), nullable: true), .init("app", .text(), nullable: true),
        .init("endpoint", .string(allowed: ["chat.completions", "embeddings", "messages"]), required: true),
        .init("requested_model", .text(), required: true), .init("model", .text("the model that answered"), nullable: true),
        .init("provider", .text(), nullable: true), .init("input_tokens", .integer(), required: true), .init("output_tokens", .integer(), required: true),
        .init("micro_usd", .integer(), required: true), .init("cost_usd", .number(), required: true), .init("status", .integer(), required: true),
        .init("error", .text("the error code"), nullable: true), .init("latency_ms", .number(description: "to the answer's head"), required: true),
        .init("stream", .boolean(), required: true), .init("cached", .boolean(), required: true), .init("attempts", .integer(), required: true),
        .init("redactions", .integer(), required: true),
    ])
}

/// One error report: a request answered with a status of 400 or more.
struct ErrorReportView: Encodable, Sendable {
    var request: String, time: Int64, source: String, type: String, status: Int, model: String, error: String
    var user: String?, token: String, agent: String?, version: String?

    init(_ stored: StoredUsageEvent) {
        let e = stored.event
        request = stored.requestID
        time = e.time
        source = "node \(stored.node) \(e.endpoint)"
        type = e.errorCode ?? "http_\(e.status)"
        status = e.status
        model = e.requestedModel
        error = e.errorMessage ?? e.errorCode ?? "status \(e.status)"
        user = e.user
        token = e.token
        agent = e.userAgent
        version = e.userAgent.flatMap(Self.version)
    }

    /// The first dotted version number in a `User-Agent` (`OpenAI/Python 1.54.0` → `1.54.0`).
    static func version(in agent: String) -> String? {
        agent.firstMatch(of: /\d+(\.\d+)+/).map { String($0.output.0) }
    }

    static let schema = Schema.object([
        .init("request", .text(), required: true), .init("time", .integer(), required: true),
        .init("source", .text("the node and endpoint"), required: true), .init("type", .text("the error code"), required: true),
        .init("status", .integer(), required: true), .init("model", .text("the model asked for"), required: true),
        .init("error", .text("the message the caller got"), required: true), .init("user", .text(), nullable: true), .init("token", .text(), required: true),
        .init("agent", .text("the caller's User-Agent"), nullable: true), .init("version", .text("the version in the User-Agent"), nullable: true),
    ])
}

/// One line of the DLP activity log: what was found, never the values.
struct DLPActivityView: Encodable, Sendable {
    var request: String, time: Int64, kind: String, scope: String, policy: String, rules: [String], matches: Int, size: Int
    var detail: String, user: String?, token: String

    init(_ stored: StoredUsageEvent) {
        let e = stored.event
        let dlp = e.dlp ?? DLPOutcome(action: .redact, policy: "-", scope: "-")
        request = stored.requestID
        time = e.time
        kind = dlp.action.rawValue
        scope = dlp.scope
        policy = dlp.policy
        rules = dlp.matches.keys.sorted()
        matches = dlp.matches.values.reduce(0) { $0.saturatingSum($1) }
        size = e.requestBytes ?? 0
        detail = dlp.action == .bypass
            ? "bypassed: \(dlp.reason ?? "")"
            : dlp.matches.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        user = e.user
        token = e.token
    }

    static let schema = Schema.object([
        .init("request", .text(), required: true), .init("time", .integer(), required: true),
        .init("kind", .string(allowed: ["redact", "block", "bypass"]), required: true), .init("scope", .text("app:ID or org:ID"), required: true),
        .init("policy", .text(), required: true), .init("rules", .array(.text(), description: "the detectors that matched"), required: true),
        .init("matches", .integer(description: "values found"), required: true), .init("size", .integer(description: "request bytes"), required: true),
        .init("detail", .text("counts per rule, or the bypass reason; never a value"), required: true),
        .init("user", .text(), nullable: true), .init("token", .text(), required: true),
    ])
}

/// The DLP screen's counters and its policies.
struct DLPSummaryView: Encodable, Sendable {
    struct PolicyRow: Encodable, Sendable {
        var id: String, name: String?, status: String, action: String, rules_enabled: Int, organizations: [String], apps: [String]
        var last_activity: Int64?
    }

    var redactions_24h: Int, redacted_requests_24h: Int, blocked_24h: Int, bypasses_24h: Int
    var organizations_protected: Int, apps_protected: Int
    var policies: [PolicyRow]
    var nodes: NodesView

    init(_ totals: UsageTotals, state: PolicyState, lastActivity: [String: Int64], nodes: NodesView) {
        redactions_24h = totals.redactions
        redacted_requests_24h = totals.redacted
        blocked_24h = totals.blocked
        bypasses_24h = totals.bypassed
        func enabled(_ id: String?) -> Bool { id.flatMap { state.dlpPolicies[$0]?.enabled } ?? false }
        organizations_protected = state.organizations.values.filter { enabled($0.dlp) }.count
        apps_protected = state.applications.values.filter { enabled($0.dlp) }.count
        policies = state.dlpPolicies.values.sorted { $0.id < $1.id }.map { policy in
            PolicyRow(
                id: policy.id, name: policy.name, status: policy.enabled ? "enabled" : "disabled", action: policy.action.rawValue,
                rules_enabled: policy.detectors.count + policy.patterns.count,
                organizations: state.organizations.values.filter { $0.dlp == policy.id }.map(\.id).sorted(),
                apps: state.applications.values.filter { $0.dlp == policy.id }.map(\.id).sorted(), last_activity: lastActivity[policy.id])
        }
        self.nodes = nodes
    }

    static let schema = Schema.object([
        .init("redactions_24h", .integer(description: "values replaced"), required: true),
        .init("redacted_requests_24h", .integer(), required: true), .init("blocked_24h", .integer(), required: true),
        .init("bypasses_24h", .integer(), required: true), .init("organizations_protected", .integer(), required: true),
        .init("apps_protected", .integer(), required: true),
        .init("policies", .array(.object([
            .init("id", .text(), required: true), .init("name", .text(), nullable: true),
            .init("status", .string(allowed: ["enabled", "disabled"]), required: true), .init("action", .oneOf(DLPPolicy.Action.self), required: true),
            .init("rules_enabled", .integer(), required: true), .init("organizations", .array(.text()), required: true),
            .init("apps", .array(.text()), required: true),
            .init("last_activity", .integer(description: "the newest activity in the last 30 days, ms"), nullable: true),
        ])), required: true),
        .init("nodes", NodesView.schema, required: true),
    ])
}

/// A page of a cluster-wide list (events, users) and the nodes it holds.
struct ClusterPage<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var next_cursor: String?
    var nodes: NodesView

    enum CodingKeys: String, CodingKey { case items, next_cursor, nodes }

    /// `next_cursor` is written as null on the last page.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(next_cursor, forKey: .next_cursor)
        try c.encode(nodes, forKey: .nodes)
    }

    static func schema(_ item: Schema, order: String = "newest first") -> Schema {
        .object([
            .init("items", .array(item, description: order), required: true),
            .init("next_cursor", .text("pass as cursor for the next page; null on the last"), required: true, nullable: true),
            .init("nodes", NodesView.schema, required: true),
        ])
    }
}
