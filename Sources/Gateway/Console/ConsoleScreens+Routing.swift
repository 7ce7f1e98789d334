import Foundation
import HTTPTypes

/// Model Router, Agent Profiles, Available Models and Settings.
extension ConsoleRoutes {
    var modelRouter: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/router", title: "Model Router",
            intro: "Aliases override which model actually answers when clients ask for a model through the OpenAI or Anthropic endpoints. "
                + "An organization's alias wins over the global one.",
            sections: [
                .table(.init(
                    title: "Aliases", api: "/admin/api/aliases", id: "aliases", filters: ["org"],
                    columns: [.init("Requested Model", "requested_model"), .init("Routed To", "routed_to"), .init("Scope", "scope"), .init("Organization", "org")],
                    empty: "No aliases: every model is served as asked.", actions: [Self.delete("alias-delete")])),
                .form(ConsoleForm(id: "alias", title: "Add or Change an Alias", api: "/admin/api/aliases", button: "Save alias")),
            ])
    }

    var agentProfiles: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/profiles", title: "Agent Configurations",
            intro: "Each agent can have its own model per cost mode (normal, heavy, max); agents without one use their role's. "
                + "A request picks the mode with x-weir-cost-mode. The whole set exports and imports as YAML (model_config.yaml).",
            sections: [
                .links([("/admin/api/profiles.yaml", "Export YAML"), ("/admin/api/profiles", "Profiles JSON")]),
                .table(.init(
                    title: "Profiles", api: "/admin/api/profiles", id: "profiles", filters: ["role"],
                    columns: [.init("Name", "name"), .init("Agent ID", "id"), .init("Role", "role"),
                              .init("Normal Model") { ConsoleFormat.cell("", ($0["effective"] as? [String: Any])?["normal"]) },
                              .init("Heavy Model") { ConsoleFormat.cell("", ($0["effective"] as? [String: Any])?["heavy"]) },
                              .init("Max Model") { ConsoleFormat.cell("", ($0["effective"] as? [String: Any])?["max"]) },
                              .init("Own Overrides", "models")],
                    empty: "No profiles.", actions: [Self.delete("profile-delete")], edit: "profile")),
                .form(ConsoleForm(id: "profile", title: "Add or Change a Profile", api: "/admin/api/profiles", button: "Save profile", prefill: "/admin/api/profiles/{edit}")),
                .form(ConsoleForm(
                    id: "profiles-import", title: "Import YAML", intro: "All or nothing: a file with an error changes nothing.",
                    api: "/admin/api/profiles.yaml", button: "Import")),
            ])
    }

    var availableModels: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/models", title: "Available Models",
            sections: [
                .table(.init(
                    title: "Models", api: "/admin/api/models", id: "models", filters: ["org"],
                    columns: [.init("Model", "model"), .init("Kind", "kind"), .init("Routed To", "routed_to"), .init("Organization", "organization"),
                              .init("Served By") { item in
                                  let serving = item["deployments"] as? [[String: Any]] ?? []
                                  return serving.isEmpty ? "-" : serving.map { d in
                                      "\(ConsoleFormat.cell("", d["upstream_model"])) via \(ConsoleFormat.cell("", d["credential"])) (priority \(ConsoleFormat.cell("", d["priority"])), weight \(ConsoleFormat.cell("", d["weight"])))"
                                  }.joined(separator: "; ")
                              }],
                    empty: "No models: add a credential (Settings) and a deployment (below), or enable Ollama (Settings).")),
                .table(.init(
                    title: "Deployments", api: "/admin/api/deployments", id: "deployments", filters: ["model", "credential"],
                    columns: [.init("ID", "id"), .init("Model", "model"), .init("Credential", "credential"), .init("Upstream Model", "upstream_model"),
                              .init("Weight", "weight"), .init("Priority", "priority"), .init("Max Output Tokens", "max_output_tokens")],
                    empty: "No deployments match.", actions: [Self.delete("deployment-delete")], edit: "deployment")),
                .form(ConsoleForm(id: "deployment", title: "Add or Change a Deployment", api: "/admin/api/deployments", button: "Save deployment", prefill: "/admin/api/deployments/{edit}")),
            ])
    }

    var settings: ConsoleScreen {
        ConsoleScreen(
            path: "/admin/settings", title: "Gateway Settings",
            intro: "Changes take effect on every node at once, with no restart.",
            sections: [
                .form(ConsoleForm(
                    id: "settings-routing", title: "Routing Strategy", intro: "How the gateway orders a model's deployments and fallbacks on each request. Super-admin only.",
                    api: "/admin/api/settings", fields: ["routing_strategy", "unpriced_models", "cache_ttl_seconds"], button: "Save", prefill: "/admin/api/settings")),
                .form(ConsoleForm(
                    id: "settings-ollama", title: "Ollama (Self-Hosted Models)",
                    intro: "Route ollama/<model> to a local or remote Ollama server, at zero cost.",
                    api: "/admin/api/settings", fields: ["ollama_enabled", "ollama_base_url"], button: "Save", prefill: "/admin/api/settings")),
                .table(.init(
                    title: "LLM Provider Credentials", api: "/admin/api/credentials", id: "credentials", filters: ["provider"],
                    columns: [.init("ID", "id"), .init("Provider", "provider"), .init("Base URL", "base_url"), .init("Secret Stored", "has_secret"),
                              .init("Extra Headers") { ConsoleFormat.cell("", ($0["extra_headers"] as? [String: Any])?.keys.sorted()) }, .init("Updated", "updated")],
                    empty: "No credentials.", actions: [Self.delete("credential-delete")], edit: "credential")),
                .form(ConsoleForm(
                    id: "credential", title: "Add or Change a Credential",
                    intro: "The secret is sealed with AES-256-GCM as it arrives and never shown again; leave it empty to keep the stored one. "
                        + "Stored credentials override the environment's and reach every node at once.",
                    api: "/admin/api/credentials", button: "Save credential", prefill: "/admin/api/credentials/{edit}")),
                .table(.init(
                    title: "Model Fallback Chains", api: "/admin/api/fallbacks", id: "fallbacks",
                    columns: [.init("Primary Model", "primary_model"), .init("Fallback Chain") { ConsoleFormat.cell("", $0["chain"]).replacingOccurrences(of: ", ", with: " → ") },
                              .init("Triggers", "triggers")],
                    empty: "No fallback chains configured.", actions: [Self.delete("fallback-delete", key: "primary_model")])),
                .form(ConsoleForm(id: "fallback", title: "Add or Change a Fallback Chain", api: "/admin/api/fallbacks", button: "Save chain")),
                Self.activityExport,
            ])
    }

    static var activityExport: ConsoleScreen.Section {
        .form(ConsoleForm(
            id: "export", title: "User Activity Export",
            intro: "One user's requests as CSV: time, model, tokens, cost, latency, status. Prompts and answers are never kept, so never exported.",
            method: .get, api: "/admin/api/usage/export.csv", fields: ["user", "period"], button: "Export CSV"))
    }
}
