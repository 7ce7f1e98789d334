import Policy

/// The console's "Live · last 60 min".
struct LiveView: Encodable, Sendable {
    struct Minute: Encodable, Sendable {
        var time: Int64, requests: Int, input_tokens: Int, output_tokens: Int, errors: Int
    }

    var from: Int64, to: Int64
    var active_users: Int, requests: Int, input_tokens: Int, output_tokens: Int, errors: Int, micro_usd: Int64
    var minutes: [Minute]
    var nodes: NodesView

    static let schema = Schema.object([
        .init("from", .integer(), required: true), .init("to", .integer(), required: true),
        .init("active_users", .integer(description: "users with a request in the hour"), required: true),
        .init("requests", .integer(), required: true), .init("input_tokens", .integer(), required: true),
        .init("output_tokens", .integer(), required: true), .init("errors", .integer(), required: true), .init("micro_usd", .integer(), required: true),
        .init("minutes", .array(.object([
            .init("time", .integer(description: "the minute's start, ms"), required: true), .init("requests", .integer(), required: true),
            .init("input_tokens", .integer(), required: true), .init("output_tokens", .integer(), required: true), .init("errors", .integer(), required: true),
        ]), description: "all 60 minutes, oldest first, zero where idle"), required: true),
        .init("nodes", NodesView.schema, required: true),
    ])
}

/// The console's period totals.
struct TotalsView: Encodable, Sendable {
    var from: Int64, to: Int64
    var requests: Int, micro_usd: Int64, cost_usd: Double, active_users: Int, avg_cost_per_request_usd: Double
    var input_tokens: Int, output_tokens: Int, errors: Int, cache_hits: Int, cache_hit_rate: Double
    var nodes: NodesView

    init(_ period: UsagePeriod, _ groups: [RollupGroup], nodes: NodesView) {
        var sum = UsageTotals()
        for group in groups { sum.add(group.totals) }
        from = period.from
        to = period.to
        requests = sum.requests
        micro_usd = sum.microUSD
        cost_usd = usd(sum.microUSD)
        active_users = groups.filter { $0.user != nil && $0.user != "-" && $0.totals.requests > 0 }.count
        avg_cost_per_request_usd = sum.requests == 0 ? 0 : usd(sum.microUSD) / Double(sum.requests)
        input_tokens = sum.inputTokens
        output_tokens = sum.outputTokens
        errors = sum.errors
        cache_hits = sum.cacheHits
        cache_hit_rate = sum.requests == 0 ? 0 : Double(sum.cacheHits) / Double(sum.requests)
        self.nodes = nodes
    }

    static let schema = Schema.object([
        .init("from", .integer(), required: true), .init("to", .integer(), required: true),
        .init("requests", .integer(), required: true), .init("micro_usd", .integer(), required: true), .init("cost_usd", .number(), required: true),
        .init("active_users", .integer(), required: true), .init("avg_cost_per_request_usd", .number(), required: true),
        .init("input_tokens", .integer(), required: true), .init("output_tokens", .integer(), required: true),
        .init("errors", .integer(description: "requests answered with a status of 400 or more"), required: true),
        .init("cache_hits", .integer(), required: true), .init("cache_hit_rate", .number(description: "cache hits / requests"), required: true),
        .init("nodes", NodesView.schema, required: true),
    ])
}

/// Spend per UTC day.
struct CostPerDayView: Encodable, Sendable {
    struct Day: Encodable, Sendable {
        var date: String, time: Int64, requests: Int, micro_usd: Int64, cost_usd: Double
    }

    var days: [Day]
    var nodes: NodesView

    static let schema = Schema.object([
        .init("days", .array(.object([
            .init("date", .text("YYYY-MM-DD, UTC"), required: true), .init("time", .integer(description: "the day's start, ms"), required: true),
            .init("requests", .integer(), required: true), .init("micro_usd", .integer(), required: true), .init("cost_usd", .number(), required: true),
        ]), description: "oldest first, today last, zero where idle"), required: true),
        .init("nodes", NodesView.schema, required: true),
    ])
}

/// Load per provider and model, and the routing strategy in force.
struct ProviderLoadView: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var provider: String, model: String, requests: Int, share: Double, input_tokens: Int, output_tokens: Int
        var micro_usd: Int64, cost_usd: Double, errors: Int, error_rate: Double, cache_hits: Int
    }

    var routing_strategy: String
    var items: [Item]
    var nodes: NodesView

    static let schema = Schema.object([
        .init("routing_strategy", .oneOf(GatewaySettings.RoutingStrategy.self), required: true),
        .init("items", .array(.object([
            .init("provider", .text("`-` for requests no provider answered"), required: true), .init("model", .text("the model that answered, `-` when none did"), required: true),
            .init("requests", .integer(), required: true), .init("share", .number(description: "of all requests in the range"), required: true),
            .init("input_tokens", .integer(), required: true), .init("output_tokens", .integer(), required: true),
            .init("micro_usd", .integer(), required: true), .init("cost_usd", .number(), required: true),
            .init("errors", .integer(), required: true), .init("error_rate", .number(), required: true), .init("cache_hits", .integer(), required: true),
        ]), description: "busiest first"), required: true),
        .init("nodes", NodesView.schema, required: true),
    ])
}

/// A user's usage in a range (top spenders and per-user usage).
struct UserUsageView: Encodable, Sendable {
    var user: String, name: String?, email: String?, organization: String?
    var requests: Int, input_tokens: Int, output_tokens: Int, micro_usd: Int64, cost_usd: Double, errors: Int

    init(_ group: RollupGroup, state: PolicyState) {
        let id = group.user ?? "-"
        user = id
        name = state.users[id]?.displayName
        email = state.users[id]?.email
        organization = state.users[id]?.organization
        requests = group.totals.requests
        input_tokens = group.totals.inputTokens
        output_tokens = group.totals.outputTokens
        micro_usd = group.totals.microUSD
        cost_usd = usd(group.totals.microUSD)
        errors = group.totals.errors
    }

    /// Users by cost, then requests, then id; requests without a user left out.
    static func ranked(_ groups: [RollupGroup], state: PolicyState) -> [UserUsageView] {
        groups.filter { $0.user != nil && $0.user != "-" }
            .sorted { ($1.totals.microUSD, $1.totals.requests, $0.user ?? "") < ($0.totals.microUSD, $0.totals.requests, $1.user ?? "") }
            .map { UserUsageView($0, state: state) }
    }

    static let schema = Schema.object([
        .init("user", .text(), required: true), .init("name", .text(), nullable: true), .init("email", .text(), nullable: true),
        .init("organization", .text(), nullable: true), .init("requests", .integer(), required: true),
        .init("input_tokens", .integer(), required: true), .init("output_tokens", .integer(), required: true),
        .init("micro_usd", .integer(), required: true), .init("cost_usd", .number(), required: true), .init("errors", .integer(), required: true),
    ])
}
