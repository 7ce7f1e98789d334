/// An upstream provider account (`key:openai:prod`). The secret is held sealed
/// (AES-256-GCM under the key-encryption key, done by the node that received it): the
/// policy state, the Raft log and snapshots only ever see the sealed bytes.
public struct Credential: PolicyRecord, Hashable {
    public enum Provider: String, Codable, CaseIterable, Sendable {
        case openai, anthropic, ollama
        case azureOpenAI = "azure-openai"
        case openAICompatible = "openai-compatible"
    }

    public var id: String
    public var provider: Provider
    /// The API base URL; nil means the provider's public default.
    public var baseURL: String?
    /// Nonce, ciphertext and tag of the secret; nil when the provider needs none (Ollama).
    public var sealedSecret: [UInt8]?
    /// Headers sent with every upstream request (`OpenAI-Organization`, `api-version` …).
    public var extraHeaders: [String: String]
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, provider: Provider, baseURL: String?, sealedSecret: [UInt8]?, extraHeaders: [String: String], created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.provider = provider
        self.baseURL = baseURL
        self.sealedSecret = sealedSecret
        self.extraHeaders = extraHeaders
        self.created = created
        self.updated = updated
    }
}

/// One way to serve a public model name: a credential and the model name upstream.
public struct Deployment: PolicyRecord, Hashable {
    public var id: String
    /// The model name clients ask for (`gpt-4o`, `ollama/gemma3`).
    public var model: String
    public var credential: String
    public var upstreamModel: String
    /// Share of traffic under the weighted strategy (≥ 1).
    public var weight: Int
    /// Lower is tried first under the priority strategy.
    public var priority: Int
    /// The largest output this deployment may produce; also the estimate when a request
    /// gives no `max_tokens`. At most `outputTokensMax`.
    public var maxOutputTokens: Int?
    /// The largest output any request or deployment may name: no model produces more in
    /// one answer, and the bound keeps every reservation's arithmetic far from overflow.
    public static let outputTokensMax = 1_000_000
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, model: String, credential: String, upstreamModel: String, weight: Int, priority: Int, maxOutputTokens: Int?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.model = model
        self.credential = credential
        self.upstreamModel = upstreamModel
        self.weight = weight
        self.priority = priority
        self.maxOutputTokens = maxOutputTokens
        self.created = created
        self.updated = updated
    }
}

/// Routes a requested model name to another, globally or for one organization (whose
/// aliases win over the global ones).
public struct Alias: PolicyRecord, Hashable {
    /// `global/<requested>` or `<org id>/<requested>`, derived; see `Alias.id(requested:organization:)`.
    public var id: String
    public var requestedModel: String
    public var routedTo: String
    /// nil for a global alias.
    public var organization: String?
    public var created: AuditStamp
    public var updated: AuditStamp

    /// The id of the alias of `requested` in `organization` (nil: global).
    public static func id(requested: String, organization: String?) -> String {
        "\(organization ?? "global")/\(requested)"
    }

    /// A record with every field given.
    public init(id: String, requestedModel: String, routedTo: String, organization: String?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.requestedModel = requestedModel
        self.routedTo = routedTo
        self.organization = organization
        self.created = created
        self.updated = updated
    }
}

/// Which models step in, in order, when the primary model fails.
public struct FallbackChain: PolicyRecord, Hashable {
    /// The primary model's name.
    public var id: String
    public var chain: [String]
    /// The failures of an attempt that move on to the next model (all by default).
    public var triggers: [FallbackTrigger]
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, chain: [String], triggers: [FallbackTrigger] = FallbackTrigger.allCases, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.chain = chain
        self.triggers = triggers
        self.created = created
        self.updated = updated
    }

    private enum CodingKeys: String, CodingKey { case id, chain, triggers, created, updated }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        chain = try c.decode([String].self, forKey: .chain)
        // Snapshots written before triggers existed fall back on every failure.
        triggers = try c.decodeIfPresent([FallbackTrigger].self, forKey: .triggers) ?? FallbackTrigger.allCases
        created = try c.decode(AuditStamp.self, forKey: .created)
        updated = try c.decode(AuditStamp.self, forKey: .updated)
    }
}

/// A failed attempt that a fallback chain may answer by trying its next model.
public enum FallbackTrigger: String, Codable, CaseIterable, Sendable {
    /// The provider answered 5xx.
    case providerError = "provider_error"
    /// The provider answered 429 (rate limited).
    case rateLimited = "rate_limited"
    /// The provider refused for billing: credit expired or quota exhausted (402, or an
    /// insufficient-quota error).
    case creditExpired = "credit_expired"
    /// No answer in time.
    case timeout
    /// The provider could not be reached (connection refused or reset, DNS): downtime.
    case unavailable
}

/// The cost modes a request may select.
public enum CostMode: String, Codable, CaseIterable, Sendable { case normal, heavy, max }

/// A model per cost mode, for a role (`role:coder`) or for one agent (`agent:…`). An
/// agent's profile names its role; modes it leaves empty come from the role's profile.
public struct ModelProfile: PolicyRecord, Hashable {
    public var id: String
    /// For an agent's profile: the role (`role:…`) it defaults to.
    public var role: String?
    public var name: String?
    public var models: [CostMode: String]
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, role: String?, name: String?, models: [CostMode: String], created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.role = role
        self.name = name
        self.models = models
        self.created = created
        self.updated = updated
    }
}

/// What DLP looks for and what it does on a match. Organizations and applications point
/// at one by id.
public struct DLPPolicy: PolicyRecord, Hashable {
    /// The built-in detectors.
    public enum Detector: String, Codable, CaseIterable, Sendable {
        case email, phone, creditCard = "credit_card", ssn, ipAddress = "ip_address", iban, apiKey = "api_key"
    }
    public enum Action: String, Codable, CaseIterable, Sendable {
        /// Replace matches with placeholders (`[EMAIL_1]`) and restore them in the answer.
        case redact
        /// Refuse the request.
        case block
    }
    /// A named regular expression of the admin's own; its placeholder label is `name`
    /// upper-cased.
    public struct Pattern: Codable, Equatable, Hashable, Sendable {
        public var name: String
        public var regex: String
        public init(name: String, regex: String) {
            self.name = name
            self.regex = regex
        }
    }

    public var id: String
    public var name: String?
    public var enabled: Bool
    public var action: Action
    public var detectors: [Detector]
    public var patterns: [Pattern]
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, name: String?, enabled: Bool, action: Action, detectors: [Detector], patterns: [Pattern], created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.name = name
        self.enabled = enabled
        self.action = action
        self.detectors = detectors
        self.patterns = patterns
        self.created = created
        self.updated = updated
    }
}

/// Gateway-wide settings (one record, id `settings`).
public struct GatewaySettings: Codable, Equatable, Hashable, Sendable {
    public enum RoutingStrategy: String, Codable, CaseIterable, Sendable {
        case priority
        case roundRobin = "round-robin"
        case weighted
        case lowestLatency = "lowest-latency"
        case lowestCost = "lowest-cost"
        case leastBusy = "least-busy"
    }
    /// What a request for a model with no price gets.
    public enum UnpricedModels: String, Codable, CaseIterable, Sendable {
        case deny
        case allowAndFlag = "allow-and-flag"
    }

    public var routingStrategy: RoutingStrategy = .priority
    /// Whether `ollama/<model>` names route to the Ollama server below, at zero cost.
    public var ollamaEnabled: Bool = false
    public var ollamaBaseURL: String = "http://127.0.0.1:11434"
    public var unpricedModels: UnpricedModels = .deny
    /// How long a node keeps the answer to a deterministic request (temperature 0, and
    /// embeddings) for an identical one; 0 turns the response cache off.
    public var cacheTTLSeconds = GatewaySettings.cacheTTLSecondsDefault
    /// nil until first changed.
    public var updated: AuditStamp?

    public static let cacheTTLSecondsDefault = 300
    /// The longest cache time accepted.
    public static let cacheTTLSecondsMax = 86_400

    public init() {}

    private enum CodingKeys: String, CodingKey { case routingStrategy, ollamaEnabled, ollamaBaseURL, unpricedModels, cacheTTLSeconds, updated }

    /// Settings written before a field existed read it as its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        routingStrategy = try c.decodeIfPresent(RoutingStrategy.self, forKey: .routingStrategy) ?? .priority
        ollamaEnabled = try c.decodeIfPresent(Bool.self, forKey: .ollamaEnabled) ?? false
        ollamaBaseURL = try c.decodeIfPresent(String.self, forKey: .ollamaBaseURL) ?? "http://127.0.0.1:11434"
        unpricedModels = try c.decodeIfPresent(UnpricedModels.self, forKey: .unpricedModels) ?? .deny
        cacheTTLSeconds = try c.decodeIfPresent(Int.self, forKey: .cacheTTLSeconds) ?? Self.cacheTTLSecondsDefault
        updated = try c.decodeIfPresent(AuditStamp.self, forKey: .updated)
    }
}
