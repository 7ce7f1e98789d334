import Foundation
import HTTPTypes

/// Policy Ops, Organizations and Apps.
extension ConsoleRoutes {
    var policyOps: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/policy", title: "Policy Operations",
            intro: "Register users, apps and principals, upsert or revoke quotas and prices (append-only revisions), and issue one-time tokens.",
            sections: [
                .form(ConsoleForm(id: "user-register", title: "Register User", api: "/admin/api/users", fields: ["id", "display_name"], button: "Register user")),
                .form(ConsoleForm(id: "app-register", title: "Register Application", api: "/admin/api/apps", fields: ["id", "display_name"], button: "Register app")),
                .form(ConsoleForm(id: "principal-register", title: "Register Principal", api: "/admin/api/principals", button: "Register principal")),
                .form(ConsoleForm(id: "org-register", title: "Register Organization", api: "/admin/api/orgs", fields: ["id", "name", "owner"], button: "Register organization")),
                .form(ConsoleForm(id: "quota-upsert", title: "Quota Upsert (Append-Only Revision)", api: "/admin/api/quotas", button: "Upsert quota")),
                .form(ConsoleForm(id: "quota-revoke", title: "Quota Revoke (Append-Only)", api: "/admin/api/quotas/revoke", button: "Revoke quota")),
                .form(ConsoleForm(id: "pricing-upsert", title: "Pricing Upsert (Append-Only Revision)", api: "/admin/api/pricing", button: "Upsert price")),
                .form(ConsoleForm(id: "pricing-revoke", title: "Pricing Revoke (Append-Only)", api: "/admin/api/pricing/revoke", button: "Revoke price")),
                .form(Self.tokenIssue),
                .table(.init(
                    title: "Users", api: "/admin/api/users", id: "users", filters: ["q", "limit"], pageSize: Self.policyOpsPageSize,
                    columns: [.init("User ID", "id"), .init("Display Name", "display_name")], empty: "No users match.", link: Self.quotasOf)),
                .table(.init(
                    title: "Applications", api: "/admin/api/apps", id: "apps", filters: ["q", "limit"], pageSize: Self.policyOpsPageSize,
                    columns: [.init("Application ID", "id"), .init("Display Name", "display_name")], empty: "No applications match.")),
                .table(.init(
                    title: "Principals", api: "/admin/api/principals", id: "principals", filters: ["q", "limit"], pageSize: Self.policyOpsPageSize,
                    columns: [.init("Principal ID", "id"), .init("Kind", "kind"), .init("Namespace", "namespace"), .init("Application ID", "app"),
                              .init("Groups", "groups")],
                    empty: "No principals match.", link: Self.quotasOf)),
                .table(.init(
                    title: "Quota Revisions", api: "/admin/api/quotas", id: "quotas", filters: ["lane", "subject", "name", "status", "limit"], pageSize: Self.policyOpsPageSize,
                    columns: [.init("ID", "id"), .init("Lane", "lane"), .init("Subject", "subject"), .init("Quota Name", "name"), .init("Period", "period"),
                              .init("Max USD", "max_usd"), .init("Max Tokens", "max_tokens"), .init("Max Requests", "max_requests"),
                              .init("Status", "status"), .init("Created", "created"), Self.reason],
                    empty: "No quota revisions match.",
                    actions: [.init(form: "quota-revoke", label: "Revoke") { item in
                        item["status"] as? String == "active"
                            ? ["lane": ConsoleFormat.cell("", item["lane"]), "subject": ConsoleFormat.cell("", item["subject"]), "name": ConsoleFormat.cell("", item["name"])]
                            : nil
                    }])),
                .table(.init(
                    title: "Pricing Revisions", api: "/admin/api/pricing", id: "pricing", filters: ["scope", "subject", "status", "limit"], pageSize: Self.policyOpsPageSize,
                    columns: [.init("ID", "id"), .init("Scope", "scope"), .init("Subject", "subject"), .init("Input / 1k (USD)", "input_per_1k"),
                              .init("Output / 1k (USD)", "output_per_1k"), .init("Status", "status"), .init("Note", "note"), .init("Created", "created"),
                              Self.reason],
                    empty: "No pricing revisions match.",
                    actions: [.init(form: "pricing-revoke", label: "Revoke") { item in
                        item["status"] as? String == "active" ? ["scope": ConsoleFormat.cell("", item["scope"]), "subject": ConsoleFormat.cell("", item["subject"])] : nil
                    }])),
            ])
    }

    var keys: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/keys", title: "Keys", intro: "Client tokens: each is bound to a principal, optionally to a user and an app. A secret is shown once, when issued.",
            sections: [
                .form(Self.tokenIssue),
                .table(.init(
                    api: "/admin/api/tokens", id: "tokens", filters: ["principal", "user", "app", "status"],
                    columns: [.init("ID", "id"), .init("Name", "name"), .init("Prefix") { ConsoleFormat.cell("", $0["display_prefix"]) + "…" },
                              .init("Principal", "principal"), .init("User", "user"), .init("App", "app"), .init("Scopes", "scopes"),
                              .init("Expires", "expires_at"), .init("Status", "status")],
                    empty: "No tokens.",
                    actions: [.init(form: "token-revoke", label: "Revoke") { item in
                        item["status"] as? String == "active" ? (item["id"] as? String).map { ["id": $0] } : nil
                    }])),
            ])
    }

    /// On Keys and on Policy Ops.
    static var tokenIssue: ConsoleForm {
        ConsoleForm(
            id: "token-issue", title: "Issue Safe Token (One-Time Reveal)", api: "/admin/api/tokens",
            fields: ["principal", "namespace", "user", "app", "scopes", "models", "name", "expires_in_seconds", "cache_opt_out"], button: "Issue token",
            reveal: true)
    }

    var users: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/users", title: "Users", intro: "A user's weekly cap is its weekly quota on the user lane (Policy Ops).",
            sections: [
                .table(.init(
                    title: "All Users", api: "/admin/api/users", id: "users", filters: ["q", "organization", "status", "role"],
                    columns: [.init("Name", "display_name"), .init("ID", "id"), .init("Email", "email"), .init("Status", "status"), .init("Role", "role"),
                              .init("Weekly Cap", "weekly_cap_usd"), .init("Organization", "organization")],
                    empty: "No users match.", actions: [Self.delete("user-delete")], edit: "user")),
                .form(ConsoleForm(id: "user", title: "Create or Edit a User", api: "/admin/api/users", button: "Save user", prefill: "/admin/api/users/{edit}")),
            ])
    }

    var organizations: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/orgs", title: "Organizations",
            intro: "An organization's spend cap is a quota on the org lane (Policy Ops); its DLP policy protects its users' requests.",
            sections: [
                .table(.init(
                    title: "All Organizations", api: "/admin/api/orgs", id: "orgs", filters: ["q"],
                    columns: [.init("Name", "name"), .init("ID", "id"), .init("Slug", "slug"), .init("Owner", "owner"), .init("Members", "members"),
                              .init("API Spend Cap", "spend_cap_usd"), .init("Cap Period", "spend_cap_period"), .init("Rollover", "rollover"),
                              .init("DLP", "dlp"), .init("Created", "created")],
                    empty: "No organizations match.", actions: [Self.delete("org-delete")], edit: "org")),
                .form(ConsoleForm(id: "org", title: "Create or Edit an Organization", api: "/admin/api/orgs", button: "Save organization", prefill: "/admin/api/orgs/{edit}")),
            ])
    }

    var applications: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/apps", title: "Apps", intro: "Applications whose keys call the gateway; an app's DLP policy protects requests made with its keys.",
            sections: [
                .table(.init(
                    title: "All Apps", api: "/admin/api/apps", id: "apps", filters: ["q", "active"],
                    columns: [.init("Name", "display_name"), .init("ID", "id"), .init("Slug", "slug"), .init("Contact", "contact"), .init("Active", "active"),
                              .init("DLP", "dlp"), .init("Created", "created")],
                    empty: "No apps match.", actions: [Self.delete("app-delete")], edit: "app")),
                .form(ConsoleForm(id: "app", title: "Create or Edit an App", api: "/admin/api/apps", button: "Save app", prefill: "/admin/api/apps/{edit}")),
            ])
    }

    /// Rows per table on Policy Ops (each section pages on its own; `limit` asks for more).
    static var policyOpsPageSize: Int { 10 }

    /// The reason given with a revision.
    static var reason: ConsoleScreen.Column {
        .init("Reason") { ConsoleFormat.cell("", ($0["created"] as? [String: Any])?["reason"]) }
    }

    /// A row's link to its quota revisions (the quota table's subject filter).
    static func quotasOf(_ item: [String: Any], _: [String: String]) -> (href: String, label: String)? {
        (item["id"] as? String).map { ("/admin/policy?" + ConsoleQuery.encode(["quotas.subject": $0]) + "#quotas", "Quotas") }
    }

    /// A Delete button on a row: the form `form` with the row's id.
    static func delete(_ form: String, key: String = "id") -> ConsoleScreen.RowAction {
        .init(form: form, label: "Delete") { item in (item[key] as? String).map { ["id": $0] } }
    }

    /// Forms used only as row buttons.
    var rowForms: [ConsoleForm] {
        [("user-delete", "users"), ("org-delete", "orgs"), ("app-delete", "apps"), ("alias-delete", "aliases"), ("profile-delete", "profiles"), ("deployment-delete", "deployments"),
         ("credential-delete", "credentials"), ("fallback-delete", "fallbacks"), ("dlp-delete", "dlp")].map { id, collection in
            ConsoleForm(id: id, title: "Delete", method: .delete, api: "/admin/api/\(collection)/{id}", fields: [], button: "Delete")
        } + [
            ConsoleForm(id: "cluster-drain", title: "Drain", api: "/admin/api/cluster/drain", button: "Drain"),
            ConsoleForm(id: "token-revoke", title: "Revoke", api: "/admin/api/tokens/{id}/revoke", fields: [], button: "Revoke"),
        ]
    }

    /// Every form, by id.
    func form(_ id: String) -> ConsoleForm? {
        (screens.flatMap(\.forms) + rowForms).first { $0.id == id }
    }
}
