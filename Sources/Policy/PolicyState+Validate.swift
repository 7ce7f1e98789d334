extension PolicyState {
    func validate(_ user: User) throws(PolicyError) {
        try Check.id(user.id, field: "id", prefixes: ["user:"])
        try Check.text(user.displayName, field: "display_name")
        if let email = user.email, !email.isEmpty {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" "), email.count <= 254 else {
                throw .invalid(field: "email", message: "'\(email.prefix(80))' is not an email address")
            }
        }
        try Check.exists(user.organization, field: "organization") { organizations[$0] != nil }
    }

    func validate(_ org: Organization) throws(PolicyError) {
        try Check.id(org.id, field: "id", prefixes: ["org:"])
        try Check.text(org.name, field: "name", required: true)
        try Check.slug(org.slug, field: "slug")
        if let other = organizations.values.first(where: { $0.slug == org.slug && $0.id != org.id }) {
            throw .invalid(field: "slug", message: "'\(org.slug)' is already the slug of \(other.id)")
        }
        try Check.exists(org.owner, field: "owner") { users[$0] != nil }
        try Check.exists(org.dlp, field: "dlp") { dlpPolicies[$0] != nil }
    }

    func validate(_ app: Application) throws(PolicyError) {
        try Check.id(app.id, field: "id", prefixes: ["app:"])
        try Check.text(app.displayName, field: "display_name")
        try Check.text(app.contact, field: "contact")
        if let slug = app.slug {
            try Check.slug(slug, field: "slug")
            if let other = applications.values.first(where: { $0.slug == slug && $0.id != app.id }) {
                throw .invalid(field: "slug", message: "'\(slug)' is already the slug of \(other.id)")
            }
        }
        try Check.exists(app.dlp, field: "dlp") { dlpPolicies[$0] != nil }
    }

    func validate(_ principal: Principal) throws(PolicyError) {
        try Check.id(principal.id, field: "id", prefixes: ["agent:", "service:", "human:"])
        guard principal.id.hasPrefix(principal.kind.rawValue + ":") else {
            throw .invalid(field: "kind", message: "kind: '\(principal.kind.rawValue)' does not match the id '\(principal.id)'; omit kind or use the id's prefix")
        }
        try Check.id(principal.namespace, field: "namespace", prefixes: ["tenant:"])
        try Check.count(principal.groups, field: "groups")
        for group in principal.groups { try Check.name(group, field: "groups") }
        try Check.unique(principal.groups, field: "groups")
        try Check.exists(principal.app, field: "app") { applications[$0] != nil }
        try Check.text(principal.purpose, field: "purpose")
    }

    func validateNew(_ token: ClientToken) throws(PolicyError) {
        try Check.plainID(token.id, field: "id")
        guard tokens[token.id] == nil else { throw .alreadyExists(kind: "token", id: token.id) }
        guard token.secretHash.count == 64, token.secretHash.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
            throw .invalid(field: "secret_hash", message: "must be 64 lower-case hex digits (SHA-256)")
        }
        guard tokenIDByHash[token.secretHash] == nil else { throw .alreadyExists(kind: "token secret", id: token.displayPrefix) }
        try Check.text(token.name, field: "name")
        try Check.exists(token.principal, field: "principal") { principals[$0] != nil }
        try Check.id(token.namespace, field: "namespace", prefixes: ["tenant:"])
        try Check.exists(token.user, field: "user") { users[$0] != nil }
        try Check.exists(token.app, field: "app") { applications[$0] != nil }
        guard !token.scopes.isEmpty else { throw .invalid(field: "scopes", message: "must name at least one scope") }
        try Check.unique(token.scopes, field: "scopes")
        for scope in token.scopes where Scope(rawValue: scope) == nil {
            throw .invalid(field: "scopes", message: "'\(scope.prefix(80))' is not a scope; use \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let models = token.models {
            guard !models.isEmpty else { throw .invalid(field: "models", message: "must name at least one model, or be left out for all") }
            try Check.count(models, field: "models")
            try Check.unique(models, field: "models")
            for model in models { try Check.name(model, field: "models") }
        }
    }

    func validate(_ credential: Credential) throws(PolicyError) {
        try Check.plainID(credential.id, field: "id")
        let parts = credential.id.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "key", !parts[1].isEmpty, !parts[2].isEmpty else {
            throw .invalid(field: "id", message: "'\(credential.id.prefix(80))' must be key:PROVIDER:NAME (example: key:openai:prod)")
        }
        if let url = credential.baseURL { try Check.url(url, field: "base_url") }
        switch credential.provider {
        case .azureOpenAI, .openAICompatible:
            if credential.baseURL == nil { throw .invalid(field: "base_url", message: "is required for \(credential.provider.rawValue)") }
        case .openai, .anthropic, .ollama: break
        }
        let needsSecret = credential.provider != .ollama && credential.provider != .openAICompatible
        if needsSecret && credential.sealedSecret == nil && credentials[credential.id]?.sealedSecret == nil {
            throw .invalid(field: "secret", message: "is required for a new \(credential.provider.rawValue) credential")
        }
        try Check.count(credential.extraHeaders, field: "extra_headers")
        for (name, value) in credential.extraHeaders {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_".unicodeScalars.contains($0) }) else {
                throw .invalid(field: "extra_headers", message: "'\(name.prefix(80))' is not a header name")
            }
            guard !value.contains("\r"), !value.contains("\n"), value.count <= 4096 else {
                throw .invalid(field: "extra_headers", message: "the value of '\(name)' contains a line break or is too long")
            }
        }
    }

    func validate(_ deployment: Deployment) throws(PolicyError) {
        try Check.plainID(deployment.id, field: "id")
        try Check.plainID(deployment.model, field: "model")
        try Check.exists(deployment.credential, field: "credential") { credentials[$0] != nil }
        try Check.plainID(deployment.upstreamModel, field: "upstream_model")
        guard (1...1_000_000).contains(deployment.weight) else { throw .invalid(field: "weight", message: "must be between 1 and 1000000") }
        guard (-1_000_000...1_000_000).contains(deployment.priority) else {
            throw .invalid(field: "priority", message: "must be between -1000000 and 1000000")
        }
        if let max = deployment.maxOutputTokens, !(1...Deployment.outputTokensMax).contains(max) {
            throw .invalid(field: "max_output_tokens", message: "must be from 1 to \(Deployment.outputTokensMax) (outputTokensMax)")
        }
    }

    func validate(_ alias: Alias) throws(PolicyError) {
        try Check.plainID(alias.requestedModel, field: "requested_model")
        try Check.plainID(alias.routedTo, field: "routed_to")
        guard alias.requestedModel != alias.routedTo else { throw .invalid(field: "routed_to", message: "routes the model to itself") }
        try Check.exists(alias.organization, field: "org") { organizations[$0] != nil }
    }

    func validate(_ chain: FallbackChain) throws(PolicyError) {
        try Check.plainID(chain.id, field: "primary_model")
        guard !chain.chain.isEmpty else { throw .invalid(field: "chain", message: "must name at least one fallback model") }
        guard !chain.triggers.isEmpty else { throw .invalid(field: "triggers", message: "must name at least one failure to fall back on (or be left out: all of them)") }
        try Check.unique(chain.triggers.map(\.rawValue), field: "triggers")
        guard chain.chain.count <= 10 else { throw .invalid(field: "chain", message: "may name at most 10 models") }
        for model in chain.chain { try Check.plainID(model, field: "chain") }
        try Check.unique(chain.chain, field: "chain")
        guard !chain.chain.contains(chain.id) else { throw .invalid(field: "chain", message: "contains the primary model itself") }
    }

    func validate(_ profile: ModelProfile, among profileExists: (String) -> Bool) throws(PolicyError) {
        try Check.id(profile.id, field: "id", prefixes: ["agent:", "role:"])
        try Check.text(profile.name, field: "name")
        if profile.id.hasPrefix("role:") {
            if profile.role != nil { throw .invalid(field: "role", message: "only an agent's profile names a role") }
        } else {
            try Check.exists(profile.id, field: "id") { principals[$0] != nil }
            if let role = profile.role {
                try Check.id(role, field: "role", prefixes: ["role:"])
                try Check.exists(role, field: "role", in: profileExists)
            }
        }
        for (mode, model) in profile.models { try Check.plainID(model, field: "models.\(mode.rawValue)") }
    }

    func validate(_ policy: DLPPolicy) throws(PolicyError) {
        try Check.id(policy.id, field: "id", prefixes: ["dlp:"])
        try Check.text(policy.name, field: "name")
        try Check.unique(policy.detectors.map(\.rawValue), field: "detectors")
        try Check.count(policy.patterns, field: "patterns")
        for pattern in policy.patterns {
            try Check.name(pattern.name, field: "patterns.name")
            guard !pattern.regex.isEmpty, pattern.regex.count <= 1_000 else {
                throw .invalid(field: "patterns.regex", message: "must be 1 to 1000 characters")
            }
        }
        try Check.unique(policy.patterns.map { $0.name.uppercased() }, field: "patterns.name")
        if policy.enabled && policy.detectors.isEmpty && policy.patterns.isEmpty {
            throw .invalid(field: "detectors", message: "an enabled policy needs at least one detector or pattern")
        }
    }
}
