import HTTPTypes
import Policy

extension AdminRoutes {
    /// The console's "Available models": every public model name a request may use, and
    /// what serves it (its deployments, or the model an alias routes it to).
    var modelEndpoints: [AdminEndpoint] {
        [
            AdminEndpoint(
                method: .get, path: "/admin/api/models", scope: .adminRead, tag: "Model router",
                summary: "Every model name requests may use: deployments, aliases and Ollama",
                parameters: [
                    .init(name: "org", description: "also the aliases of this organization (which win over the global ones)"),
                    AdminEndpoint.consistentParameter,
                ],
                response: .object([.init("items", .array(AvailableModelView.schema), required: true)]),
                handler: { call in
                    let state = try await call.state()
                    return try .json(AvailableModels(items: AvailableModelView.all(in: state, organization: call.query("org"))))
                }),
        ]
    }
}

struct AvailableModels: Encodable, Sendable {
    var items: [AvailableModelView]
}

struct AvailableModelView: Encodable, Sendable {
    struct Serving: Encodable, Sendable {
        var deployment: String, credential: String, provider: String?, upstream_model: String, priority: Int, weight: Int
    }

    var model: String
    /// `deployment` (served directly), `alias` (routed to another name) or `ollama` (any
    /// `ollama/<model>` name, when Ollama is enabled in the settings).
    var kind: String
    var routed_to: String?
    var organization: String?
    var deployments: [Serving]

    /// The models of `state`, by name: deployments, then the global aliases and those of
    /// `organization` (the organization's replacing a global one of the same name).
    static func all(in state: PolicyState, organization: String?) -> [AvailableModelView] {
        var byModel: [String: AvailableModelView] = [:]
        for deployment in state.deployments.values {
            let serving = Serving(
                deployment: deployment.id, credential: deployment.credential, provider: state.credentials[deployment.credential]?.provider.rawValue,
                upstream_model: deployment.upstreamModel, priority: deployment.priority, weight: deployment.weight)
            byModel[deployment.model, default: AvailableModelView(model: deployment.model, kind: "deployment", deployments: [])].deployments.append(serving)
        }
        for view in byModel.keys { byModel[view]?.deployments.sort { ($0.priority, $0.deployment) < ($1.priority, $1.deployment) } }
        let aliases = state.aliases.values.filter { $0.organization == nil } + state.aliases.values.filter { $0.organization != nil && $0.organization == organization }
        for alias in aliases {
            byModel[alias.requestedModel] = AvailableModelView(
                model: alias.requestedModel, kind: "alias", routed_to: alias.routedTo, organization: alias.organization,
                deployments: byModel[alias.routedTo]?.deployments ?? [])
        }
        if state.settings.ollamaEnabled {
            byModel["ollama/*"] = AvailableModelView(model: "ollama/*", kind: "ollama", deployments: [])
        }
        return byModel.values.sorted { $0.model < $1.model }
    }

    static let schema = Schema.object([
        .init("model", .text("the name requests use"), required: true),
        .init("kind", .string(allowed: ["deployment", "alias", "ollama"]), required: true),
        .init("routed_to", .text("for an alias"), nullable: true), .init("organization", .text("for an organization's alias"), nullable: true),
        .init("deployments", .array(.object([
            .init("deployment", .text(), required: true), .init("credential", .text(), required: true),
            .init("provider", .oneOf(Credential.Provider.self), nullable: true), .init("upstream_model", .text(), required: true),
            .init("priority", .integer(), required: true), .init("weight", .integer(), required: true),
        ]), description: "what serves it, in priority order"), required: true),
    ])
}
