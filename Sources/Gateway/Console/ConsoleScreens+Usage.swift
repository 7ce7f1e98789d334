import Foundation
import Policy

/// Usage, Monitor, DLP, Error reports, Gateway logs, History and Cluster: the cluster-wide
/// analytics and the pool.
extension ConsoleRoutes {
    /// Every generic screen; the first is where an unknown page's form goes back to.
    var screens: [ConsoleScreen] {
        [dashboard, policyOps, keys, usage, monitor, history, users, organizations, applications, modelRouter, agentProfiles, availableModels, logs, dlp, settings, errors, cluster]
    }

    var dashboard: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/", title: "Dashboard",
            sections: [
                .cards(.init(
                    title: "Live · last 60 min", api: "/admin/api/usage/live",
                    cards: [("Active Users (1h)", "active_users"), ("Requests (1h)", "requests"), ("Tokens In (1h)", "input_tokens"), ("Tokens Out (1h)", "output_tokens")])),
                .period,
                .cards(.init(
                    title: "Period totals", api: "/admin/api/usage/totals", passing: ["period"],
                    cards: [("Total Requests", "requests"), ("Total Cost", "cost_usd"), ("Active Users", "active_users"),
                            ("Avg Cost / Request", "avg_cost_per_request_usd"), ("Input Tokens", "input_tokens"), ("Output Tokens", "output_tokens"),
                            ("Errors", "errors"), ("Cache Hit Rate", "cache_hit_rate")])),
                .chart(title: "Cost Trends · last 7 days", api: "/admin/api/usage/cost-per-day?days=7") { ConsoleChart.costBars($0["days"] as? [[String: Any]] ?? []) },
                .cards(.init(title: "Provider Load & Routing", api: "/admin/api/usage/providers", cards: [("Routing strategy", "routing_strategy")])),
                .table(.init(
                    api: "/admin/api/usage/providers", id: "providers",
                    columns: [.init("Provider", "provider"), .init("Model", "model"), .init("Requests", "requests"), .init("Share", "share"),
                              .init("Cost", "cost_usd"), .init("Errors", "errors"), .init("Error rate", "error_rate")],
                    empty: "No requests in this period.", passing: ["period"])),
                .table(.init(
                    title: "Top Spending Users", api: "/admin/api/usage/top-spenders?limit=10", id: "spenders",
                    columns: [.init("User", "user"), .init("Name", "name"), .init("Email", "email"), .init("Requests", "requests"), .init("Cost", "cost_usd")],
                    empty: "No spending in this period.", passing: ["period"])),
            ])
    }

    var usage: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/usage", title: "Usage", intro: "Every node's requests, added up.",
            sections: [
                .cards(.init(
                    title: "Period totals", api: "/admin/api/usage/totals", passing: ["period"],
                    cards: [("Total Requests", "requests"), ("Total Cost", "cost_usd"), ("Active Users", "active_users"),
                            ("Avg Cost / Request", "avg_cost_per_request_usd"), ("Input Tokens", "input_tokens"), ("Output Tokens", "output_tokens"),
                            ("Errors", "errors"), ("Cache Hit Rate", "cache_hit_rate")])),
                .chart(title: "Cost per day · last 30 days", api: "/admin/api/usage/cost-per-day?days=30") { ConsoleChart.costBars($0["days"] as? [[String: Any]] ?? []) },
                .table(.init(
                    title: "Per-User Usage", api: "/admin/api/usage/users", id: "usage-users", filters: ["period", "org"],
                    columns: [.init("User", "user"), .init("Name", "name"), .init("Email", "email"), .init("Requests", "requests"),
                              .init("Input Tokens", "input_tokens"), .init("Output Tokens", "output_tokens"), .init("Cost", "cost_usd"), .init("Errors", "errors")],
                    empty: "No requests in this period.",
                    link: { item, query in
                        (item["user"] as? String).map { ("/admin/api/usage/export.csv?" + ConsoleQuery.encode(["user": $0, "period": query["period"] ?? "24h"]), "CSV") }
                    })),
                Self.activityExport,
            ])
    }

    var monitor: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/monitor", title: "Monitor", intro: "The last hour, across the cluster; this page reloads every \(Self.monitorRefreshSeconds) s.",
            sections: [
                .cards(.init(
                    title: "Live · last 60 min", api: "/admin/api/usage/live",
                    cards: [("Active Users (1h)", "active_users"), ("Requests (1h)", "requests"), ("Tokens In (1h)", "input_tokens"),
                            ("Tokens Out (1h)", "output_tokens"), ("Errors (1h)", "errors"), ("Cost (1h)", "micro_usd")])),
                .chart(title: "Requests per minute", api: "/admin/api/usage/live") { ConsoleChart.minuteBars($0["minutes"] as? [[String: Any]] ?? []) },
                .table(.init(
                    title: "Recent requests", api: "/admin/api/usage/logs?period=1h", id: "recent", filters: ["user", "model"],
                    columns: Self.logColumns, empty: "No requests in the last hour.")),
                .table(.init(
                    title: "Recent errors", api: "/admin/api/usage/errors?period=1h", id: "recent-errors", filters: ["user"],
                    columns: Self.errorColumns, empty: "No errors in the last hour.")),
            ],
            refresh: Self.monitorRefreshSeconds)
    }

    /// How often the Monitor page reloads itself.
    static var monitorRefreshSeconds: Int { 15 }

    var dlp: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/dlp", title: "DLP",
            intro: "Stop sensitive data before it leaves your network. Requests are scanned in the gateway; matched values are replaced with "
                + "placeholders like [EMAIL_1] before the provider sees them and restored in the answer. Turn protection on per organization "
                + "(for user keys, on Organizations) or per app (for app keys, on Apps) by naming a policy.",
            sections: [
                .cards(.init(
                    title: "Last 24 hours", api: "/admin/api/usage/dlp",
                    cards: [("Redactions · 24h", "redactions_24h"), ("Redacted requests · 24h", "redacted_requests_24h"), ("Blocked · 24h", "blocked_24h"),
                            ("Bypasses · 24h", "bypasses_24h"), ("Organizations protected", "organizations_protected"), ("Apps protected", "apps_protected")])),
                .links([("/admin/orgs", "Protect an organization"), ("/admin/apps", "Protect an app")]),
                .table(.init(
                    title: "Protection", api: "/admin/api/usage/dlp", id: "protection",
                    columns: [.init("Name") { ConsoleFormat.cell("", $0["name"] is String ? $0["name"] : $0["id"]) }, .init("Status", "status"),
                              .init("Action", "action"), .init("Rules enabled", "rules_enabled"), .init("Organizations", "organizations"), .init("Apps", "apps"),
                              .init("Last activity", "last_activity")],
                    empty: "No DLP policies yet: add one below.", items: { $0["policies"] as? [[String: Any]] ?? [] }, edit: "dlp")),
                .table(.init(
                    title: "Rules", api: "/admin/api/dlp", id: "rules", filters: ["enabled"],
                    columns: [.init("ID", "id"), .init("Name", "name"), .init("Enabled", "enabled"), .init("Action", "action"), .init("Detectors", "detectors"),
                              .init("Custom patterns") { ConsoleFormat.cell("", ($0["patterns"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "")" }) },
                              .init("Used by", "used_by")],
                    empty: "No DLP policies.", actions: [Self.delete("dlp-delete")], edit: "dlp")),
                .form(ConsoleForm(id: "dlp", title: "Add or Change a DLP Policy", api: "/admin/api/dlp", button: "Save policy", prefill: "/admin/api/dlp/{edit}")),
                .table(.init(
                    title: "Recent activity", api: "/admin/api/usage/dlp/activity", id: "activity", filters: ["period"],
                    columns: [.init("When", "time"), .init("Kind", "kind"), .init("Scope", "scope"), .init("Rule", "rules"), .init("Matches", "matches"),
                              .init("Size", "size"), .init("Request", "request"), .init("Detail", "detail")],
                    empty: "Enable protection for an organization or app, then make a request: activity will appear here.")),
            ])
    }

    var errors: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/errors", title: "Error Reports", intro: "Requests answered with a status of 400 or more, from every node.",
            sections: [.table(.init(api: "/admin/api/usage/errors", id: "errors", filters: ["period", "user"], columns: Self.errorColumns, empty: "No errors in this period."))])
    }

    var logs: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/logs", title: "Gateway Logs", intro: "Recent API requests through the OpenAI/Anthropic gateway endpoints, from every node.",
            sections: [.table(.init(
                api: "/admin/api/usage/logs", id: "logs", filters: ["period", "user", "token", "model"], columns: Self.logColumns,
                empty: "No requests in this period (the default is the last 24 hours)."))])
    }

    var history: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/history", title: "History", intro: "Every change to the policy: who, when, why, and its Raft index.",
            sections: [.table(.init(
                api: "/admin/api/history", id: "history", filters: ["action", "actor", "subject"],
                columns: [.init("When", "at"), .init("Action", "action"), .init("Subject", "subject"), .init("Summary", "summary"), .init("Actor", "actor"),
                          .init("Reason", "reason"), .init("Index", "index")],
                empty: "No changes match."))])
    }

    var cluster: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/cluster", title: "Cluster",
            intro: "Drain takes a node out: not ready, in-flight requests finish, quota rights and leadership are handed on, then it leaves the voting set.",
            sections: [.table(.init(
                api: "/admin/api/cluster", id: "cluster",
                columns: [
                    .init("Node") { "n" + ConsoleFormat.cell("", $0["node_id"]) }, .init("Member", "membership"),
                    .init("Role") { ConsoleFormat.cell("", ($0["report"] as? [String: Any])?["role"]) },
                    .init("Term") { ConsoleFormat.cell("", ($0["report"] as? [String: Any])?["term"]) },
                    .init("Commit") { ConsoleFormat.cell("", ($0["report"] as? [String: Any])?["commit"]) },
                    .init("Applied") { ConsoleFormat.cell("", ($0["report"] as? [String: Any])?["applied"]) }, .init("Lag", "lag"),
                    .init("Health") { member in
                        let report = member["report"] as? [String: Any]
                        return member["reachable"] as? Bool != true ? "unreachable"
                            : (report?["ready"] as? Bool == true ? "ready" : "waiting: " + ConsoleFormat.cell("", report?["waiting_for"]))
                    },
                    .init("Peer", "peer_address"),
                ],
                empty: "No members.", items: { $0["members"] as? [[String: Any]] ?? [] },
                actions: [.init(form: "cluster-drain", label: "Drain") { member in (member["node_id"] as? Int).map { ["node": String($0)] } }]))])
    }

    static var logColumns: [ConsoleScreen.Column] {
        [.init("Time", "time"), .init("Key", "token"), .init("User", "user"), .init("Endpoint", "endpoint"), .init("Requested", "requested_model"),
         .init("Actual", "model"), .init("Tokens") { "\(($0["input_tokens"] as? Int ?? 0) + ($0["output_tokens"] as? Int ?? 0))" },
         .init("Cost", "cost_usd"), .init("Status", "status")]
    }

    static var errorColumns: [ConsoleScreen.Column] {
        [.init("Time", "time"), .init("Source", "source"), .init("Type", "type"), .init("Status", "status"), .init("Model", "model"), .init("Error", "error"),
         .init("User", "user"), .init("Agent", "agent"), .init("Version", "version")]
    }
}
