import Foundation
import Gateway
import HTTPTypes
import Testing

/// Nodes held in memory, each answering as a `UsageRecorder` does; `missing` ones never answer.
struct MemoryUsage: UsageQuery {
    var nodes: [UInt64: [UsageEvent]]
    var missing: Set<UInt64> = []

    private func stored(_ node: UInt64) -> [StoredUsageEvent] {
        (nodes[node] ?? []).enumerated().map { StoredUsageEvent(node: node, sequence: UInt64($0), event: $1) }
    }

    private var answering: [UInt64] { nodes.keys.filter { !missing.contains($0) }.sorted() }

    func rollups(_ query: RollupQuery) async -> ClusterAnswer<[RollupGroup]> {
        let parts = answering.map { node -> [RollupGroup] in
            var minutes: [String: (minute: Int64, user: String, model: String, provider: String, totals: UsageTotals)] = [:]
            for e in nodes[node] ?? [] {
                let minute = UsageBucket.minute.start(of: e.time)
                let key = "\(minute) \(e.user ?? "-") \(e.model ?? "-") \(e.provider ?? "-")"
                minutes[key, default: (minute, e.user ?? "-", e.model ?? "-", e.provider ?? "-", UsageTotals())].totals.add(e)
            }
            return RollupGroup.group(minutes.values, by: query)
        }
        return ClusterAnswer(value: RollupGroup.merge(parts), answered: answering, missing: Array(missing))
    }

    func events(_ query: EventQuery) async -> ClusterAnswer<[StoredUsageEvent]> {
        let parts = answering.map { node in
            Array(stored(node).filter { query.matches($0.event, at: $0.position) }
                .sorted { query.order == .oldestFirst ? $0.position < $1.position : $1.position < $0.position }.prefix(query.limit))
        }
        return ClusterAnswer(value: StoredUsageEvent.merge(parts, order: query.order, limit: query.limit), answered: answering, missing: Array(missing))
    }
}

/// The `/admin/api/usage/…` answers over a cluster's parts.
@Suite struct UsageRoutesTests {
    static let now = AdminHarness.now
    static let hour: Int64 = 3_600_000

    static func event(
        _ ago: Int64, user: String?, model: String = "gpt-4o-mini", provider: String = "openai", micro: Int64 = 100, status: Int = 200,
        cached: Bool = false, dlp: DLPOutcome? = nil, token: String = "tok_1", agent: String? = nil
    ) -> UsageEvent {
        UsageEvent(
            time: now - ago, endpoint: "chat.completions", token: token, principal: "human:x", user: user, app: nil, organization: nil,
            requestedModel: model, model: status < 400 ? model : nil, provider: provider, credential: nil, deployment: nil, inputTokens: 10,
            outputTokens: 20, microUSD: micro, unpriced: false, status: status, errorCode: status < 400 ? nil : "upstream_error", stream: false,
            latencyMicroseconds: 1500, attempts: 1, redactions: dlp?.matches.values.reduce(0, +) ?? 0, cached: cached, dlp: dlp,
            errorMessage: status < 400 ? nil : "openai refused gpt-4o-mini: overloaded", userAgent: agent, requestBytes: 321)
    }

    /// Two nodes with traffic over three days, and a third that does not answer.
    static func cluster(missing: Set<UInt64> = [3]) -> MemoryUsage {
        let email = DLPOutcome(action: .redact, policy: "dlp:strict", scope: "org:acme", matches: ["EMAIL": 2, "CARD": 1])
        let bypass = DLPOutcome(action: .bypass, policy: "dlp:strict", scope: "org:acme", reason: "ticket 7")
        return MemoryUsage(nodes: [
            1: [event(10 * 60_000, user: "user:ann", micro: 500), event(20 * 60_000, user: "user:bob", micro: 200, dlp: email),
                event(30 * 60_000, user: "user:ann", micro: 0, cached: true), event(26 * hour, user: "user:ann", micro: 1000)],
            2: [event(5 * 60_000, user: "user:bob", model: "claude", provider: "anthropic", micro: 300, status: 502, agent: "OpenAI/Python 1.54.0"),
                event(50 * 60_000, user: "user:bob", micro: 100, dlp: bypass), event(50 * hour, user: nil, micro: 7)],
            3: [event(60_000, user: "user:zed", micro: 99_999)],
        ], missing: missing)
    }

    private func harness(_ usage: (any UsageQuery)? = cluster()) async throws -> AdminHarness {
        var harness = try await AdminHarness()
        harness.usage = usage
        return harness
    }

    @Test func totalsLiveAndCostPerDayAddUpTheAnsweringNodes() async throws {
        try await harness().run { api async throws in
            let totals = try await api.get("/admin/api/usage/totals?period=24h")
            #expect(totals.status == .ok, "\(totals.text)")
            #expect(totals.object["requests"] as? Int == 5 && totals.object["micro_usd"] as? Int == 1100)
            #expect(totals.object["active_users"] as? Int == 2 && totals.object["errors"] as? Int == 1 && totals.object["cache_hits"] as? Int == 1)
            #expect(totals.object["cache_hit_rate"] as? Double == 0.2 && totals.object["avg_cost_per_request_usd"] as? Double == 0.00022)
            let nodes = totals.object["nodes"] as? [String: Any]
            #expect(nodes?["complete"] as? Bool == false && nodes?["missing"] as? [Int] == [3] && nodes?["answered"] as? [Int] == [1, 2])
            let week = try await api.get("/admin/api/usage/totals?period=7d")
            #expect(week.object["requests"] as? Int == 7 && week.object["micro_usd"] as? Int == 2107, "every day in the week")
            let live = try await api.get("/admin/api/usage/live")
            #expect(live.object["requests"] as? Int == 5 && (live.object["minutes"] as? [Any])?.count == 60)
            let days = try await api.get("/admin/api/usage/cost-per-day?days=3")
            let perDay = (days.object["days"] as? [[String: Any]] ?? []).map { $0["micro_usd"] as? Int ?? -1 }
            #expect(perDay.reduce(0, +) == 2107 && perDay.count == 3, "\(days.text)")
            #expect((days.object["days"] as? [[String: Any]])?.last?["date"] as? String == "2027-01-15")
            return ()
        }
    }

    @Test func spendersUsersAndProvidersAreRankedByTheMergedSums() async throws {
        try await harness().run { api async throws in
            let top = try await api.get("/admin/api/usage/top-spenders?period=7d&limit=1")
            #expect(top.items.map { $0["user"] as? String } == ["user:ann"] && top.items.first?["micro_usd"] as? Int == 1500)
            let first = try await api.get("/admin/api/usage/users?period=24h&limit=1")
            #expect(first.items.first?["user"] as? String == "user:bob" && first.items.first?["micro_usd"] as? Int == 600, "bob spent most today")
            #expect(first.object["next_cursor"] as? String == "1")
            let second = try await api.get("/admin/api/usage/users?period=24h&limit=1&cursor=1")
            #expect(second.items.first?["user"] as? String == "user:ann" && second.object["next_cursor"] is NSNull)
            let providers = try await api.get("/admin/api/usage/providers?period=24h")
            let openai = providers.items.first { $0["provider"] as? String == "openai" }
            #expect(openai?["requests"] as? Int == 4 && openai?["share"] as? Double == 0.8 && providers.object["routing_strategy"] as? String == "priority")
            return ()
        }
    }

    @Test func logsAndErrorReportsPageNewestFirst() async throws {
        try await harness().run { api async throws in
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/admin/api/usage/logs?period=7d&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok, "\(page.text)")
                seen += page.items.compactMap { $0["request"] as? String }
                cursor = page.object["next_cursor"] as? String
            } while cursor != nil && seen.count < 20
            #expect(seen == ["n2-0", "n1-0", "n1-1", "n1-2", "n2-1", "n1-3", "n2-2"], "every request once, newest first")
            let bob = try await api.get("/admin/api/usage/logs?period=7d&user=user:bob")
            #expect(bob.items.count == 3)
            let errors = try await api.get("/admin/api/usage/errors?period=24h")
            #expect(errors.items.count == 1)
            #expect(errors.items.first?["type"] as? String == "upstream_error" && errors.items.first?["version"] as? String == "1.54.0")
            #expect(errors.items.first?["error"] as? String == "openai refused gpt-4o-mini: overloaded")
            let bad = try await api.get("/admin/api/usage/logs?cursor=nonsense")
            #expect(bad.status == .badRequest && bad.errorField == "cursor")
            let period = try await api.get("/admin/api/usage/totals?period=1y")
            #expect(period.status == .badRequest && period.errorField == "period" && period.errorMessage.contains("24h"))
            let backwards = try await api.get("/admin/api/usage/totals?from=20&to=10")
            #expect(backwards.status == .badRequest)
            return ()
        }
    }

    @Test func dlpCountsAndActivityNameRulesNeverValues() async throws {
        try await harness().run { api async throws in
            let summary = try await api.get("/admin/api/usage/dlp")
            #expect(summary.object["redactions_24h"] as? Int == 3 && summary.object["redacted_requests_24h"] as? Int == 1)
            #expect(summary.object["bypasses_24h"] as? Int == 1 && summary.object["blocked_24h"] as? Int == 0)
            let activity = try await api.get("/admin/api/usage/dlp/activity?period=24h")
            #expect(activity.items.map { $0["kind"] as? String } == ["redact", "bypass"])
            #expect(activity.items.first?["detail"] as? String == "CARD×1, EMAIL×2" && activity.items.first?["size"] as? Int == 321)
            #expect(activity.items.last?["detail"] as? String == "bypassed: ticket 7")
            return ()
        }
    }

    @Test func theExportIsOneUsersRowsAndRefusesAnIncompleteCluster() async throws {
        var usage = Self.cluster(missing: [])
        usage.nodes[2]?.append(Self.event(3 * 60_000, user: "user:ann", model: "=HYPERLINK(\"x\")", token: "tok,2"))
        try await harness(usage).run { api async throws in
            let export = try await api.get("/admin/api/usage/export.csv?period=7d&user=user:ann")
            #expect(export.status == .ok)
            let lines = export.text.split(separator: "\r\n").map(String.init)
            #expect(lines.first?.hasPrefix("time,request,node,token") == true)
            #expect(lines.count == 5, "a header and ann's four requests: \(export.text)")
            #expect(lines.dropFirst().allSatisfy { $0.contains(",user:ann,") })
            #expect(export.text.contains(#""'=HYPERLINK(""x"")""#) && export.text.contains(#""tok,2""#), "quoted, and no formula")
            let missing = try await api.get("/admin/api/usage/export.csv")
            #expect(missing.status == .badRequest && missing.errorField == "user")
            return ()
        }
        try await harness().run { api async throws in
            let partial = try await api.get("/admin/api/usage/export.csv?period=7d&user=user:ann")
            #expect(partial.status == .serviceUnavailable && partial.errorMessage.contains("3"))
            return ()
        }
    }

    @Test func analyticsNeedAnAdminReadTokenAndAWiredNode() async throws {
        let harness = try await harness()
        let invoke = try await harness.addToken("tok_invoke", scopes: ["model.invoke"])
        let reader = try await harness.addToken("tok_read", scopes: ["admin.read"])
        try await harness.run { api async throws in
            #expect(try await api.get("/admin/api/usage/totals", token: invoke).status == .forbidden)
            #expect(try await api.get("/admin/api/usage/totals", token: reader).status == .ok)
            return ()
        }
        try await self.harness(nil).run { api async throws in
            #expect(try await api.get("/admin/api/usage/totals").status == .serviceUnavailable)
            return ()
        }
    }
}
