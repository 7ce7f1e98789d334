import HTTPTypes
import Policy

extension AdminRoutes {
    var routingEndpoints: [AdminEndpoint] {
        let sealer = self.sealer
        let model = AdminEndpoint.Parameter(name: "model", description: "exact public model name")
        var credentials = AdminCRUD(
            collection: "credentials", tag: "Credentials", schemaName: "Credential", table: .credentials, body: CredentialBody.schema,
            listParameters: [.init(name: "provider", description: "one provider kind", schema: .oneOf(Credential.Provider.self))],
            list: { call, state, page in
                let provider = try call.query("provider", as: Credential.Provider.self)
                return try state.credentials.page(page) { provider == nil || $0.provider == provider }.map(CredentialView.init)
            },
            find: { state, id in state.credentials[id].map(CredentialView.init) },
            command: { (body: CredentialBody, _) in
                let provider = try enumValue(body.provider, default: Credential.Provider.openai, field: "provider")
                if let secret = body.secret, secret.isEmpty || secret.count > 8_192 {
                    throw AdminError(.unprocessableContent, "invalid_request", "secret: must be 1 to 8192 characters; omit it to keep the stored one", field: "secret")
                }
                return .putCredential(Credential(
                    id: body.id, provider: provider, baseURL: body.base_url, sealedSecret: try body.secret.map { try sealer.seal($0, for: body.id) },
                    extraHeaders: body.extra_headers ?? [:], created: .pending, updated: .pending))
            })
        credentials.writeScope = .adminSuper
        return credentials.endpoints
            + AdminCRUD(
                collection: "deployments", tag: "Deployments", schemaName: "Deployment", table: .deployments, body: DeploymentBody.schema,
                listParameters: [model, .init(name: "credential", description: "exact credential")],
                list: { call, state, page in
                    let model = call.query("model"), credential = call.query("credential")
                    return try state.deployments.page(page) { d in
                        (model.map { d.model == $0 } ?? true) && (credential.map { d.credential == $0 } ?? true)
                    }.map(DeploymentView.init)
                },
                find: { state, id in state.deployments[id].map(DeploymentView.init) },
                command: { (body: DeploymentBody, _) in .putDeployment(body.record()) }
            ).endpoints
            + AdminCRUD(
                collection: "aliases", tag: "Model router", schemaName: "Alias", table: .aliases, body: AliasBody.schema,
                listParameters: [.init(name: "org", description: "exact org; 'global' for global aliases")],
                list: { call, state, page in
                    let org = call.query("org")
                    return try state.aliases.page(page) { a in org.map { $0 == "global" ? a.organization == nil : a.organization == $0 } ?? true }
                        .map(AliasView.init)
                },
                find: { state, id in state.aliases[id].map(AliasView.init) },
                command: { (body: AliasBody, _) in .putAlias(body.record()) }
            ).endpoints
            + AdminCRUD(
                collection: "fallbacks", tag: "Model router", schemaName: "FallbackChain", table: .fallbacks, body: FallbackBody.schema,
                listParameters: [],
                list: { _, state, page in try state.fallbacks.page(page) { _ in true }.map(FallbackView.init) },
                find: { state, id in state.fallbacks[id].map(FallbackView.init) },
                command: { (body: FallbackBody, _) in .putFallback(try body.record()) }
            ).endpoints
            + profileEndpoints
            + AdminCRUD(
                collection: "dlp", tag: "DLP", schemaName: "DLPPolicy", table: .dlp, body: DLPBody.schema,
                listParameters: [.init(name: "enabled", description: "true or false", schema: .string(allowed: ["true", "false"]))],
                list: { call, state, page in
                    let enabled = call.query("enabled").map { $0 == "true" }
                    return try state.dlpPolicies.page(page) { enabled == nil || $0.enabled == enabled }.map { DLPView($0, state) }
                },
                find: { state, id in state.dlpPolicies[id].map { DLPView($0, state) } },
                command: { (body: DLPBody, _) in .putDLP(try body.record()) }
            ).endpoints
    }

    var settingsEndpoints: [AdminEndpoint] {
        [
            AdminEndpoint(
                method: .get, path: "/admin/api/settings", scope: .adminRead, tag: "Settings", summary: "Gateway settings",
                parameters: [AdminEndpoint.consistentParameter], response: .reference("Settings"),
                handler: { call in try .json(SettingsView(try await call.state().settings)) }),
            AdminEndpoint(
                method: .post, path: "/admin/api/settings", scope: .adminSuper, tag: "Settings",
                summary: "Change the given settings (super-admin); takes effect on every node at once",
                body: SettingsBody.schema, response: .reference("Settings"),
                handler: { call in
                    let body = try await call.body(SettingsBody.self, schema: SettingsBody.schema)
                    _ = try await call.submit(.putSettings(try body.applied(to: call.reader.current.settings)))
                    return try .json(SettingsView(call.reader.current.settings))
                }),
        ]
    }
}
