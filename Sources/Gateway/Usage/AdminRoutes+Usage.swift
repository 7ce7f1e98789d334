import Foundation
import HTTPTypes
import Hummingbird
import Policy

extension AdminRoutes {
    /// The usage analytics under `/admin/api/usage/`: every answer is cluster-wide, asked
    /// of every node and merged, and says which nodes it holds.
    var usageEndpoints: [AdminEndpoint] {
        let range: [AdminEndpoint.Parameter] = [
            .init(name: "period", description: "the last 1h, 24h (default), 7d, 30d or 90d", schema: .string(allowed: UsagePeriod.periods.sorted { $0.value < $1.value }.map(\.key))),
            .init(name: "from", description: "start, ms since the epoch (instead of period)", schema: .integer(0...EventPosition.timeMax)),
            .init(name: "to", description: "end, ms since the epoch (default now)", schema: .integer(0...EventPosition.timeMax)),
        ]
        let paging: [AdminEndpoint.Parameter] = [
            .init(name: "cursor", description: "next_cursor of the previous page"),
            .init(name: "limit", description: "items per page, 1 to 1000 (default 50)", schema: .integer(1...Int64(EventQuery.limitMax))),
        ]
        let eventFilters: [AdminEndpoint.Parameter] = [
            .init(name: "user", description: "only this user's requests"), .init(name: "token", description: "only this token's requests"),
            .init(name: "model", description: "only requests that asked for or got this model"),
        ]
        return [
            endpoint("/admin/api/usage/live", "Live: the last 60 minutes, per minute", [], LiveView.schema) { call, usage in
                try .json(await Self.live(usage, now: call.now))
            },
            endpoint("/admin/api/usage/totals", "Period totals: requests, cost, active users, tokens, errors, cache hit rate", range, TotalsView.schema) { call, usage in
                let period = try call.period()
                let answer = await usage.rollups(RollupQuery(from: period.from, to: period.to, byUser: true))
                return try .json(TotalsView(period, answer.value, nodes: NodesView(answer)))
            },
            endpoint("/admin/api/usage/cost-per-day", "Cost per UTC day, today and the days before", [
                .init(name: "days", description: "how many days, 1 to \(UsageLimits.costDaysMax) (default 7)", schema: .integer(1...Int64(UsageLimits.costDaysMax))),
            ], CostPerDayView.schema) { call, usage in
                try .json(await Self.costPerDay(usage, days: try call.count("days", default: 7, max: UsageLimits.costDaysMax), now: call.now))
            },
            endpoint("/admin/api/usage/providers", "Load per provider and model, and the routing strategy", range, ProviderLoadView.schema) { call, usage in
                let period = try call.period()
                let answer = await usage.rollups(RollupQuery(from: period.from, to: period.to, byModel: true, byProvider: true))
                let total = max(1, answer.value.reduce(0) { $0.saturatingSum($1.totals.requests) })
                let items = answer.value.sorted { ($1.totals.requests, $0.provider ?? "") < ($0.totals.requests, $1.provider ?? "") }.map { g in
                    ProviderLoadView.Item(
                        provider: g.provider ?? "-", model: g.model ?? "-", requests: g.totals.requests, share: Double(g.totals.requests) / Double(total),
                        input_tokens: g.totals.inputTokens, output_tokens: g.totals.outputTokens, micro_usd: g.totals.microUSD, cost_usd: usd(g.totals.microUSD),
                        errors: g.totals.errors, error_rate: g.totals.requests == 0 ? 0 : Double(g.totals.errors) / Double(g.totals.requests),
                        cache_hits: g.totals.cacheHits)
                }
                return try .json(ProviderLoadView(routing_strategy: call.reader.current.settings.routingStrategy.rawValue, items: items, nodes: NodesView(answer)))
            },
            endpoint("/admin/api/usage/top-spenders", "The users who spent most", range + [
                .init(name: "limit", description: "how many, 1 to \(UsageLimits.topSpendersMax) (default 10)", schema: .integer(1...Int64(UsageLimits.topSpendersMax))),
            ], ClusterPage<UserUsageView>.schema(UserUsageView.schema, order: "by cost, highest first")) { call, usage in
                let period = try call.period()
                let limit = try call.count("limit", default: 10, max: UsageLimits.topSpendersMax)
                let answer = await usage.rollups(RollupQuery(from: period.from, to: period.to, byUser: true))
                let ranked = UserUsageView.ranked(answer.value, state: call.reader.current)
                return try .json(ClusterPage(items: Array(ranked.prefix(limit)), next_cursor: nil, nodes: NodesView(answer)))
            },
            endpoint("/admin/api/usage/users", "Per-user usage: requests, tokens and cost of every user", range + paging + [
                .init(name: "org", description: "only the users of this organization"),
            ], ClusterPage<UserUsageView>.schema(UserUsageView.schema, order: "by cost, highest first")) { call, usage in
                let period = try call.period()
                let limit = try call.count("limit", default: 50, max: EventQuery.limitMax)
                let offset = try call.offsetCursor()
                let answer = await usage.rollups(RollupQuery(from: period.from, to: period.to, byUser: true))
                var ranked = UserUsageView.ranked(answer.value, state: call.reader.current)
                if let org = call.query("org") { ranked = ranked.filter { $0.organization == org } }
                let page = Array(ranked.dropFirst(offset).prefix(limit))
                let next = offset + page.count < ranked.count ? String(offset + page.count) : nil
                return try .json(ClusterPage(items: page, next_cursor: next, nodes: NodesView(answer)))
            },
            endpoint("/admin/api/usage/logs", "Gateway logs: every request, newest first", range + paging + eventFilters, ClusterPage<LogLineView>.schema(LogLineView.schema)) { call, usage in
                try await Self.eventPage(call, usage, kind: .all, LogLineView.init)
            },
            endpoint("/admin/api/usage/errors", "Error reports: requests answered with a status of 400 or more", range + paging + eventFilters, ClusterPage<ErrorReportView>.schema(ErrorReportView.schema)) { call, usage in
                try await Self.eventPage(call, usage, kind: .errors, ErrorReportView.init)
            },
            endpoint("/admin/api/usage/dlp", "DLP: 24-hour redaction, block and bypass counts, protected organizations and apps, policies", [], DLPSummaryView.schema) { call, usage in
                try .json(await Self.dlpSummary(usage, state: call.reader.current, now: call.now))
            },
            endpoint("/admin/api/usage/dlp/activity", "DLP activity: what was redacted, blocked or bypassed, never the values", range + paging + eventFilters,
                     ClusterPage<DLPActivityView>.schema(DLPActivityView.schema)) { call, usage in
                try await Self.eventPage(call, usage, kind: .dlp, DLPActivityView.init)
            },
            endpoint("/admin/api/usage/export.csv", "One user's activity as CSV, oldest first, streamed", range + [
                .init(name: "user", description: "the user whose activity is exported", schema: .id(["user:"]), required: true),
            ], .string(description: "text/csv; the first line names the columns"), contentType: "text/csv") { call, usage in
                guard let user = call.query("user") else { throw AdminError.invalid("user is required: the export is of one user's activity", field: "user") }
                return try await UsageExport.response(usage, user: user, period: try call.period())
            },
        ]
    }

    private func endpoint(
        _ path: String, _ summary: String, _ parameters: [AdminEndpoint.Parameter], _ response: Schema, contentType: String = "application/json",
        _ handler: @escaping @Sendable (AdminCall, any UsageQuery) async throws -> Response
    ) -> AdminEndpoint {
        let usage = usage
        return AdminEndpoint(
            method: .get, path: path, scope: .adminRead, tag: "Usage", summary: summary, parameters: parameters, response: response,
            responseContentType: contentType,
            handler: { call in
                guard let usage else { throw AdminError(.serviceUnavailable, "unavailable", "usage analytics are not wired on this node") }
                return try await handler(call, usage)
            })
    }

    static func live(_ usage: any UsageQuery, now: Int64) async -> LiveView {
        let from = UsageBucket.minute.start(of: now) - 59 * 60_000
        async let perMinute = usage.rollups(RollupQuery(from: from, to: now + 1, bucket: .minute))
        async let perUser = usage.rollups(RollupQuery(from: from, to: now + 1, byUser: true))
        let (minutes, users) = await (perMinute, perUser)
        var sum = UsageTotals()
        for group in minutes.value { sum.add(group.totals) }
        let byMinute = Dictionary(minutes.value.map { ($0.time, $0.totals) }, uniquingKeysWith: { a, _ in a })
        let series = (0..<60).map { index -> LiveView.Minute in
            let time = from + Int64(index) * 60_000
            let t = byMinute[time] ?? UsageTotals()
            return LiveView.Minute(time: time, requests: t.requests, input_tokens: t.inputTokens, output_tokens: t.outputTokens, errors: t.errors)
        }
        return LiveView(
            from: from, to: now, active_users: users.value.filter { $0.user != "-" && $0.totals.requests > 0 }.count, requests: sum.requests,
            input_tokens: sum.inputTokens, output_tokens: sum.outputTokens, errors: sum.errors, micro_usd: sum.microUSD, minutes: series,
            nodes: NodesView([NodesView(minutes), NodesView(users)]))
    }

    static func costPerDay(_ usage: any UsageQuery, days: Int, now: Int64) async -> CostPerDayView {
        let first = UsageBucket.day.start(of: now) - Int64(days - 1) * 86_400_000
        let answer = await usage.rollups(RollupQuery(from: first, to: now + 1, bucket: .day))
        let byDay = Dictionary(answer.value.map { ($0.time, $0.totals) }, uniquingKeysWith: { a, _ in a })
        let series = (0..<days).map { index -> CostPerDayView.Day in
            let time = first + Int64(index) * 86_400_000
            let t = byDay[time] ?? UsageTotals()
            return CostPerDayView.Day(date: UsagePeriod.date(time), time: time, requests: t.requests, micro_usd: t.microUSD, cost_usd: usd(t.microUSD))
        }
        return CostPerDayView(days: series, nodes: NodesView(answer))
    }

    static func dlpSummary(_ usage: any UsageQuery, state: PolicyState, now: Int64) async -> DLPSummaryView {
        async let day = usage.rollups(RollupQuery(from: now - 86_400_000, to: now + 1))
        async let recent = usage.events(EventQuery(from: now - UsageLimits.dlpActivityLookbackMilliseconds, to: now + 1, limit: EventQuery.limitMax, kind: .dlp))
        let (totals, activity) = await (day, recent)
        var sum = UsageTotals()
        for group in totals.value { sum.add(group.totals) }
        var last: [String: Int64] = [:]
        for stored in activity.value { if let policy = stored.event.dlp?.policy { last[policy] = max(last[policy] ?? 0, stored.event.time) } }
        return DLPSummaryView(sum, state: state, lastActivity: last, nodes: NodesView([NodesView(totals), NodesView(activity)]))
    }

    static func eventPage<View: Encodable & Sendable>(
        _ call: AdminCall, _ usage: any UsageQuery, kind: EventQuery.Kind, _ view: (StoredUsageEvent) -> View
    ) async throws -> Response {
        let period = try call.period()
        let limit = try call.count("limit", default: 50, max: EventQuery.limitMax)
        var after: EventPosition?
        if let cursor = call.query("cursor") {
            guard let position = EventPosition(cursor: cursor) else { throw AdminError.invalid("cursor: not a cursor this endpoint gave", field: "cursor") }
            after = position
        }
        let query = EventQuery(
            from: period.from, to: period.to, after: after, limit: limit, kind: kind, user: call.query("user"), token: call.query("token"), model: call.query("model"))
        let answer = await usage.events(query)
        let next = answer.value.count == limit ? answer.value.last.map { $0.position.description } : nil
        return try .json(ClusterPage(items: answer.value.map(view), next_cursor: next, nodes: NodesView(answer)))
    }
}

extension AdminCall {
    /// The range of an analytics view, from `period`, `from` and `to`.
    func period() throws -> UsagePeriod {
        try UsagePeriod.parse(from: try query("from", as: Int64.self), to: try query("to", as: Int64.self), period: query("period"), now: now)
    }

    /// A positive count parameter, at most `max`.
    func count(_ name: String, default value: Int, max: Int) throws -> Int {
        guard let text = query(name) else { return value }
        guard let number = Int(text), number >= 1, number <= max else { throw AdminError.invalid("\(name): must be an integer from 1 to \(max)", field: name) }
        return number
    }

    /// A cursor that is an offset into a ranked list.
    func offsetCursor() throws -> Int {
        guard let text = query("cursor") else { return 0 }
        guard let offset = Int(text), offset >= 0 else { throw AdminError.invalid("cursor: not a cursor this endpoint gave", field: "cursor") }
        return offset
    }
}

/// The analytics views' own limits.
enum UsageLimits {
    /// Days the cost-per-day view covers at most.
    static let costDaysMax = 90
    /// Users the top-spenders view lists at most.
    static let topSpendersMax = 100
    /// How far back a DLP policy's last activity is looked for.
    static let dlpActivityLookbackMilliseconds: Int64 = 30 * 86_400_000
}
