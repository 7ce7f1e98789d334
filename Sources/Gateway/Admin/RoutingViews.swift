import Foundation
import HTTPTypes
import Policy

struct CredentialView: Encodable, Sendable {
    var id: String, provider: String, base_url: String?, extra_headers: [String: String]
    /// Whether a secret is stored (it is never shown).
    var has_secret: Bool
    var created: AuditStamp, updated: AuditStamp

    init(_ c: Credential) {
        id = c.id; provider = c.provider.rawValue; base_url = c.baseURL; extra_headers = c.extraHeaders
        has_secret = c.sealedSecret != nil; created = c.created; updated = c.updated
    }

    static let schema = Schema.object([
        .init("id", .text("key:PROVIDER:NAME"), required: true), .init("provider", .oneOf(Credential.Provider.self), required: true),
        .init("base_url", .text(), nullable: true), .init("extra_headers", .map(.text()), required: true),
        .init("has_secret", .boolean(description: "secrets are write-only"), required: true),
    ] + Schema.stampProperties)
}

struct CredentialBody: Decodable, Sendable {
    var id: String, provider: String, base_url: String?, secret: String?, extra_headers: [String: String]?

    static let schema = Schema.object([
        .init("id", .id(["key:"], "key:PROVIDER:NAME (example: key:openai:prod)"), required: true),
        .init("provider", .oneOf(Credential.Provider.self), required: true),
        .init("base_url", .text("required for azure-openai and openai-compatible")),
        .init("secret", .text("the API key; sealed with AES-256-GCM on arrival, never shown again; omit to keep the stored one")),
        .init("extra_headers", .map(.text(), description: "sent with every upstream request")),
    ])
}

struct DeploymentView: Encodable, Sendable {
    var id: String, model: String, credential: String, upstream_model: String, weight: Int, priority: Int, max_output_tokens: Int?
    var created: AuditStamp, updated: AuditStamp

    init(_ d: Deployment) {
        id = d.id; model = d.model; credential = d.credential; upstream_model = d.upstreamModel; weight = d.weight
        priority = d.priority; max_output_tokens = d.maxOutputTokens; created = d.created; updated = d.updated
    }

    static let schema = Schema.object([
        .init("id", .text(), required: true), .init("model", .text("public model name"), required: true),
        .init("credential", .text("key:…"), required: true), .init("upstream_model", .text(), required: true),
        .init("weight", .integer(), required: true), .init("priority", .integer(), required: true),
        .init("max_output_tokens", .integer(), nullable: true),
    ] + Schema.stampProperties)
}

struct DeploymentBody: Decodable, Sendable {
    var id: String, model: String, credential: String, upstream_model: String?, weight: Int?, priority: Int?, max_output_tokens: Int?

    func record() -> Deployment {
        Deployment(
            id: id, model: model, credential: credential, upstreamModel: upstream_model ?? model, weight: weight ?? 1,
            priority: priority ?? 0, maxOutputTokens: max_output_tokens, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .plainID(), required: true), .init("model", .plainID("the name clients ask for"), required: true),
        .init("credential", .id(["key:"], "key:…"), required: true), .init("upstream_model", .plainID("default: model")),
        .init("weight", .integer(1...1_000_000, "default 1")), .init("priority", .integer(-1_000_000...1_000_000, "lower first; default 0")),
        .init("max_output_tokens", .integer(1...Int64(RequestNumbers.outputTokensMax), "clamped to outputTokensMax where used")),
    ])
}

struct AliasView: Encodable, Sendable {
    var id: String, requested_model: String, routed_to: String, org: String?, scope: String
    var created: AuditStamp, updated: AuditStamp

    init(_ a: Alias) {
        id = a.id; requested_model = a.requestedModel; routed_to = a.routedTo; org = a.organization
        scope = a.organization == nil ? "global" : "org"; created = a.created; updated = a.updated
    }

    static let schema = Schema.object([
        .init("id", .text("global/<model> or <org>/<model>"), required: true), .init("requested_model", .text(), required: true),
        .init("routed_to", .text(), required: true), .init("org", .text(), nullable: true),
        .init("scope", .string(allowed: ["global", "org"]), required: true),
    ] + Schema.stampProperties)
}

struct AliasBody: Decodable, Sendable {
    var requested_model: String, routed_to: String, org: String?

    func record() -> Alias {
        Alias(id: "", requestedModel: requested_model, routedTo: routed_to, organization: org, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("requested_model", .plainID(), required: true), .init("routed_to", .plainID("another model than requested_model"), required: true),
        .init("org", .id(["org:"], "org:…; an org's alias wins over the global one")),
    ])
}

struct FallbackView: Encodable, Sendable {
    var primary_model: String, chain: [String], triggers: [String]
    var created: AuditStamp, updated: AuditStamp

    init(_ f: FallbackChain) {
        primary_model = f.id; chain = f.chain; triggers = f.triggers.map(\.rawValue); created = f.created; updated = f.updated
    }

    static let schema = Schema.object([
        .init("primary_model", .text(), required: true), .init("chain", .array(.text()), required: true),
        .init("triggers", .array(.oneOf(FallbackTrigger.self)), required: true),
    ] + Schema.stampProperties)
}

struct FallbackBody: Decodable, Sendable {
    var primary_model: String, chain: [String], triggers: [String]?

    func record() throws -> FallbackChain {
        let triggers = try (self.triggers ?? FallbackTrigger.allCases.map(\.rawValue)).map {
            try enumValue($0, default: FallbackTrigger.providerError, field: "triggers")
        }
        return FallbackChain(id: primary_model, chain: chain, triggers: triggers, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("primary_model", .plainID(), required: true), .init("chain", .list(.plainID(), minimum: 1, maximum: 10, "tried in order, at most 10"), required: true),
        .init("triggers", .list(.oneOf(FallbackTrigger.self), minimum: 1, unique: true, "the failures that fall back (default: all)")),
    ])
}

struct ProfileView: Encodable, Sendable {
    var id: String, role: String?, name: String?, models: [String: String]
    /// The model per mode after falling back to the role's.
    var effective: [String: String]
    var created: AuditStamp, updated: AuditStamp

    init(_ p: ModelProfile, _ state: PolicyState) {
        id = p.id; role = p.role; name = p.name; created = p.created; updated = p.updated
        models = Dictionary(uniqueKeysWithValues: p.models.map { ($0.key.rawValue, $0.value) })
        var effective: [String: String] = [:]
        for mode in CostMode.allCases { effective[mode.rawValue] = p.models[mode] ?? p.role.flatMap { state.profiles[$0]?.models[mode] } }
        self.effective = effective
    }

    static let schema = Schema.object([
        .init("id", .text("role:… or agent:…"), required: true), .init("role", .text(), nullable: true), .init("name", .text(), nullable: true),
        .init("models", .map(.text(), description: "by cost mode: normal, heavy, max"), required: true),
        .init("effective", .map(.text()), required: true),
    ] + Schema.stampProperties)
}

struct ProfileBody: Decodable, Sendable {
    var id: String, role: String?, name: String?, models: [String: String]?

    func record() throws -> ModelProfile {
        var parsed: [CostMode: String] = [:]
        for (mode, model) in models ?? [:] { parsed[try enumValue(mode, default: CostMode.normal, field: "models")] = model }
        return ModelProfile(id: id, role: role, name: name, models: parsed, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["role:", "agent:"], "role:NAME, or agent:… for one agent"), required: true), .init("role", .id(["role:"], "an agent's role:…")),
        .init("name", .text()), .init("models", .map(.text(), description: "normal, heavy and/or max → model")),
    ])
}

struct DLPView: Encodable, Sendable {
    struct PatternView: Codable, Sendable { var name: String, regex: String }
    var id: String, name: String?, enabled: Bool, action: String, detectors: [String], patterns: [PatternView]
    /// Organizations and apps that use it.
    var used_by: [String]
    var created: AuditStamp, updated: AuditStamp

    init(_ d: DLPPolicy, _ state: PolicyState) {
        id = d.id; name = d.name; enabled = d.enabled; action = d.action.rawValue; detectors = d.detectors.map(\.rawValue)
        patterns = d.patterns.map { PatternView(name: $0.name, regex: $0.regex) }; created = d.created; updated = d.updated
        used_by = (state.organizations.values.filter { $0.dlp == d.id }.map(\.id) + state.applications.values.filter { $0.dlp == d.id }.map(\.id)).sorted()
    }

    static let patternSchema = Schema.object([.init("name", .text("placeholder label"), required: true), .init("regex", .text(), required: true)])
    static let schema = Schema.object([
        .init("id", .text("dlp:…"), required: true), .init("name", .text(), nullable: true), .init("enabled", .boolean(), required: true),
        .init("action", .oneOf(DLPPolicy.Action.self), required: true), .init("detectors", .array(.oneOf(DLPPolicy.Detector.self)), required: true),
        .init("patterns", .array(patternSchema), required: true), .init("used_by", .array(.text()), required: true),
    ] + Schema.stampProperties)
}

struct DLPBody: Decodable, Sendable {
    var id: String, name: String?, enabled: Bool?, action: String?, detectors: [String]?, patterns: [DLPView.PatternView]?

    func record() throws -> DLPPolicy {
        let detectors = try (self.detectors ?? DLPPolicy.Detector.allCases.map(\.rawValue)).map {
            try enumValue($0, default: DLPPolicy.Detector.email, field: "detectors")
        }
        for pattern in patterns ?? [] {
            // Checked by the engine that runs it (ICU, through NSRegularExpression): Swift's
            // Regex accepts patterns ICU refuses, and the other way round.
            do { _ = try NSRegularExpression(pattern: pattern.regex) } catch {
                throw AdminError(.unprocessableContent, "invalid_request", "patterns.regex: '\(pattern.regex.prefix(80))' is not a regular expression ICU accepts", field: "patterns.regex")
            }
        }
        return DLPPolicy(
            id: id, name: name, enabled: enabled ?? true, action: try enumValue(action, default: .redact, field: "action"), detectors: detectors,
            patterns: (patterns ?? []).map { DLPPolicy.Pattern(name: $0.name, regex: $0.regex) }, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["dlp:"], "dlp:NAME"), required: true), .init("name", .text()), .init("enabled", .boolean(description: "default true")),
        .init("action", .oneOf(DLPPolicy.Action.self, "default redact")),
        .init("detectors", .array(.oneOf(DLPPolicy.Detector.self), description: "default: all")),
        .init("patterns", .array(DLPView.patternSchema, description: "custom regular expressions")),
    ])
}

struct SettingsView: Codable, Sendable {
    var routing_strategy: String, ollama_enabled: Bool, ollama_base_url: String, unpriced_models: String, cache_ttl_seconds: Int
    var updated: AuditStamp?

    init(_ s: GatewaySettings) {
        routing_strategy = s.routingStrategy.rawValue; ollama_enabled = s.ollamaEnabled; ollama_base_url = s.ollamaBaseURL
        unpriced_models = s.unpricedModels.rawValue; cache_ttl_seconds = s.cacheTTLSeconds; updated = s.updated
    }

    static let schema = Schema.object([
        .init("routing_strategy", .oneOf(GatewaySettings.RoutingStrategy.self), required: true),
        .init("ollama_enabled", .boolean(description: "route ollama/<model> to the Ollama server at zero cost"), required: true),
        .init("ollama_base_url", .text(), required: true), .init("unpriced_models", .oneOf(GatewaySettings.UnpricedModels.self), required: true),
        .init("cache_ttl_seconds", .integer(description: "response cache time for deterministic requests; 0 is off"), required: true),
        .init("updated", .stamp, nullable: true),
    ])
}

struct SettingsBody: Decodable, Sendable {
    var routing_strategy: String?, ollama_enabled: Bool?, ollama_base_url: String?, unpriced_models: String?, cache_ttl_seconds: Int?

    /// `current` with the given fields changed.
    func applied(to current: GatewaySettings) throws -> GatewaySettings {
        var s = current
        s.routingStrategy = try enumValue(routing_strategy, default: s.routingStrategy, field: "routing_strategy")
        s.ollamaEnabled = ollama_enabled ?? s.ollamaEnabled
        s.ollamaBaseURL = ollama_base_url ?? s.ollamaBaseURL
        s.unpricedModels = try enumValue(unpriced_models, default: s.unpricedModels, field: "unpriced_models")
        s.cacheTTLSeconds = cache_ttl_seconds ?? s.cacheTTLSeconds
        return s
    }

    static let schema = Schema.object([
        .init("routing_strategy", .oneOf(GatewaySettings.RoutingStrategy.self)), .init("ollama_enabled", .boolean()),
        .init("ollama_base_url", .text()), .init("unpriced_models", .oneOf(GatewaySettings.UnpricedModels.self)),
        .init("cache_ttl_seconds", .integer(0...Int64(GatewaySettings.cacheTTLSecondsMax), "0 (off) to 86400")),
    ])
}
