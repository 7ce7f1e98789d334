extension PolicyState {
    typealias Executed = (outcome: PolicyOutcome, action: String, summary: String)

    /// Checks `command` against the current state, then changes it: all or nothing.
    mutating func execute(_ command: PolicyCommand, stamp: AuditStamp) throws(PolicyError) -> Executed {
        switch command {
        case let .putUser(user):
            try validate(user)
            return put(user, in: \.users, kind: "user", stamp: stamp)
        case let .putOrganization(org):
            try validate(org)
            return put(org, in: \.organizations, kind: "org", stamp: stamp)
        case let .putApplication(app):
            try validate(app)
            return put(app, in: \.applications, kind: "app", stamp: stamp)
        case let .putPrincipal(principal):
            try validate(principal)
            return put(principal, in: \.principals, kind: "principal", stamp: stamp)
        case let .issueToken(token):
            try validateNew(token)
            tokens.put(token, stamp: stamp)
            tokenIDByHash[token.secretHash] = token.id
            return (PolicyOutcome(id: token.id), "token.issue", "issued to \(token.principal) with scopes \(token.scopes.joined(separator: ","))")
        case let .revokeToken(id):
            guard var token = tokens[id] else { throw .notFound(kind: "token", id: id) }
            guard !token.revoked else { throw .invalid(field: "id", message: "token '\(id)' is already revoked") }
            guard !isLastSuperAdmin(token, at: stamp.at) else {
                throw .invalid(field: "id", message: "token '\(id)' is the last usable super-admin token: revoking it would lock every admin out; "
                    + "issue another token with scope admin.super first (POST /admin/api/tokens), then revoke this one")
            }
            token.revoked = true
            tokens.put(token, stamp: stamp)
            return (PolicyOutcome(id: id), "token.revoke", "revoked")
        case var .putCredential(credential):
            try validate(credential)
            if credential.sealedSecret == nil { credential.sealedSecret = credentials[credential.id]?.sealedSecret }
            return put(credential, in: \.credentials, kind: "credential", stamp: stamp)
        case let .putDeployment(deployment):
            try validate(deployment)
            return put(deployment, in: \.deployments, kind: "deployment", stamp: stamp)
        case var .putAlias(alias):
            alias.id = Alias.id(requested: alias.requestedModel, organization: alias.organization)
            try validate(alias)
            return put(alias, in: \.aliases, kind: "alias", stamp: stamp)
        case let .putFallback(chain):
            try validate(chain)
            return put(chain, in: \.fallbacks, kind: "fallback", stamp: stamp)
        case let .putProfile(profile):
            try validate(profile, among: { self.profiles[$0] != nil })
            return put(profile, in: \.profiles, kind: "profile", stamp: stamp)
        case let .importProfiles(list, replace):
            return try importProfiles(list, replace: replace, stamp: stamp)
        case let .putDLP(policy):
            try validate(policy)
            return put(policy, in: \.dlpPolicies, kind: "dlp", stamp: stamp)
        case var .putSettings(new):
            try Check.url(new.ollamaBaseURL, field: "ollama_base_url")
            guard (0...GatewaySettings.cacheTTLSecondsMax).contains(new.cacheTTLSeconds) else {
                throw .invalid(field: "cache_ttl_seconds", message: "must be 0 (off) to \(GatewaySettings.cacheTTLSecondsMax) seconds")
            }
            new.updated = stamp
            settings = new
            return (PolicyOutcome(id: "settings"), "settings.put",
                    "routing \(new.routingStrategy.rawValue), ollama \(new.ollamaEnabled ? "on" : "off"), unpriced \(new.unpricedModels.rawValue)")
        case let .delete(table, id):
            try delete(table, id: id)
            return (PolicyOutcome(id: id), "\(table.singular).delete", "deleted")
        case let .upsertQuota(revision):
            return try upsertQuota(revision, stamp: stamp)
        case let .revokeQuota(lane, subject, name):
            return try revokeQuota(lane: lane, subject: subject, name: name, stamp: stamp)
        case let .upsertPricing(revision):
            return try upsertPricing(revision, stamp: stamp)
        case let .revokePricing(scope, subject):
            return try revokePricing(scope: scope, subject: subject, stamp: stamp)
        case let .bootstrapAdmin(principal, token):
            guard !bootstrapped else { throw .alreadyExists(kind: "bootstrap admin", id: "cluster") }
            try validate(principal)
            if principals[principal.id] == nil { principals.put(principal, stamp: stamp) }
            try validateNew(token)
            tokens.put(token, stamp: stamp)
            tokenIDByHash[token.secretHash] = token.id
            bootstrapped = true
            return (PolicyOutcome(id: token.id), "token.bootstrap", "first super-admin token for \(principal.id)")
        }
    }

    private mutating func put<R: PolicyRecord>(
        _ record: R, in table: WritableKeyPath<PolicyState, RecordTable<R>>, kind: String, stamp: AuditStamp
    ) -> Executed {
        let existed = self[keyPath: table][record.id] != nil
        self[keyPath: table].put(record, stamp: stamp)
        return (PolicyOutcome(id: record.id), "\(kind).put", existed ? "updated" : "created")
    }

    private mutating func importProfiles(_ list: [ModelProfile], replace: Bool, stamp: AuditStamp) throws(PolicyError) -> Executed {
        guard list.count <= 10_000 else { throw .invalid(field: "profiles", message: "at most 10000 profiles per import") }
        try Check.unique(list.map(\.id), field: "profiles")
        let incoming = Set(list.map(\.id))
        let kept = replace ? [] : Set(profiles.byID.keys)
        for profile in list {
            try validate(profile, among: { incoming.contains($0) || kept.contains($0) })
        }
        if replace {
            for id in profiles.byID.keys where !incoming.contains(id) { profiles.remove(id) }
        }
        for profile in list { profiles.put(profile, stamp: stamp) }
        return (PolicyOutcome(id: "profiles"), "profile.import", "\(list.count) profiles\(replace ? ", replacing the others" : "")")
    }
}

extension PolicyTable {
    /// The record kind, for audit actions and messages.
    public var singular: String {
        switch self {
        case .users: "user"
        case .orgs: "org"
        case .apps: "app"
        case .principals: "principal"
        case .credentials: "credential"
        case .deployments: "deployment"
        case .aliases: "alias"
        case .fallbacks: "fallback"
        case .profiles: "profile"
        case .dlp: "dlp"
        }
    }
}

extension PolicyState {
    /// Whether `token` is the only one left that may act as super-admin at `now`.
    func isLastSuperAdmin(_ token: ClientToken, at now: Int64) -> Bool {
        func isSuper(_ t: ClientToken) -> Bool { t.isUsable(at: now) && Scope.adminSuper.isGranted(by: t.scopes) }
        return isSuper(token) && !tokens.values.contains { $0.id != token.id && isSuper($0) }
    }
}
