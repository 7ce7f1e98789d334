import Gateway
import Policy

/// What a cluster's first start registers so that requests work at once: credentials from
/// `OPENAI_API_KEY`, `ANTHROPIC_API_KEY` and `OLLAMA_BASE_URL`, each with deployments of
/// its common models and their list prices; with none of them, a demo upstream (`make
/// run` starts a mockllm) serving the same model names.
enum ProviderSeed {
    /// A model a seeded credential serves: its public name and list prices in USD per 1k tokens.
    struct Model {
        var name: String
        var input: Double
        var output: Double
    }

    static let openAIModels = [
        Model(name: "gpt-4o", input: 0.0025, output: 0.01), Model(name: "gpt-4o-mini", input: 0.00015, output: 0.0006),
        Model(name: "text-embedding-3-small", input: 0.00002, output: 0),
    ]
    static let anthropicModels = [
        Model(name: "claude-sonnet-4-5", input: 0.003, output: 0.015), Model(name: "claude-haiku-4-5", input: 0.001, output: 0.005),
    ]

    /// The commands for `environment`; empty when there is nothing to register.
    static func commands(environment: [String: String], demoUpstream: String?, sealer: CredentialSealer) throws -> [PolicyCommand] {
        var commands: [PolicyCommand] = []
        func register(_ id: String, _ provider: Credential.Provider, baseURL: String?, secret: String?, _ models: [Model]) throws {
            let sealed = try secret.map { try sealer.seal($0, for: id) }
            commands.append(.putCredential(Credential(
                id: id, provider: provider, baseURL: baseURL, sealedSecret: sealed, extraHeaders: [:], created: .pending, updated: .pending)))
            for model in models {
                commands.append(.putDeployment(Deployment(
                    id: "\(id.split(separator: ":")[1])-\(model.name)", model: model.name, credential: id, upstreamModel: model.name,
                    weight: 1, priority: 0, maxOutputTokens: nil, created: .pending, updated: .pending)))
                commands.append(.upsertPricing(PricingRevision(
                    id: 0, scope: .model, subject: model.name, inputNanoUSDPer1k: Int64((model.input * 1e9).rounded()),
                    outputNanoUSDPer1k: Int64((model.output * 1e9).rounded()), cachedInputNanoUSDPer1k: nil,
                    note: "list price at first start", revoked: false, stamp: .pending)))
            }
        }
        let openAI = environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let anthropic = environment["ANTHROPIC_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let ollama = environment["OLLAMA_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let openAI { try register("key:openai:env", .openai, baseURL: environment["OPENAI_BASE_URL"], secret: openAI, openAIModels) }
        if let anthropic { try register("key:anthropic:env", .anthropic, baseURL: environment["ANTHROPIC_BASE_URL"], secret: anthropic, anthropicModels) }
        if let ollama {
            var settings = GatewaySettings()
            settings.ollamaEnabled = true
            settings.ollamaBaseURL = ollama
            commands.append(.putSettings(settings))
        }
        if openAI == nil && anthropic == nil && ollama == nil, let demoUpstream {
            try register("key:demo:mockllm", .openAICompatible, baseURL: demoUpstream, secret: nil, openAIModels + anthropicModels)
        }
        return commands
    }
}
