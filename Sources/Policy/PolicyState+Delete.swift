extension PolicyState {
    /// Deletes a record nothing refers to; names the referrers otherwise.
    mutating func delete(_ table: PolicyTable, id: String) throws(PolicyError) {
        guard exists(table, id: id) else { throw .notFound(kind: table.singular, id: id) }
        let referrers = references(to: table, id: id)
        guard referrers.isEmpty else { throw .referenced(kind: table.singular, id: id, by: referrers) }
        switch table {
        case .users: users.remove(id)
        case .orgs: organizations.remove(id)
        case .apps: applications.remove(id)
        case .principals: principals.remove(id)
        case .credentials: credentials.remove(id)
        case .deployments: deployments.remove(id)
        case .aliases: aliases.remove(id)
        case .fallbacks: fallbacks.remove(id)
        case .profiles: profiles.remove(id)
        case .dlp: dlpPolicies.remove(id)
        }
    }

    func exists(_ table: PolicyTable, id: String) -> Bool {
        switch table {
        case .users: users[id] != nil
        case .orgs: organizations[id] != nil
        case .apps: applications[id] != nil
        case .principals: principals[id] != nil
        case .credentials: credentials[id] != nil
        case .deployments: deployments[id] != nil
        case .aliases: aliases[id] != nil
        case .fallbacks: fallbacks[id] != nil
        case .profiles: profiles[id] != nil
        case .dlp: dlpPolicies[id] != nil
        }
    }

    /// The records that refer to `id`, sorted. Revoked tokens count too: they stay in the
    /// table for the audit and name their principal, user and app.
    func references(to table: PolicyTable, id: String) -> [String] {
        var found: [String] = []
        switch table {
        case .users:
            found += organizations.values.filter { $0.owner == id }.map(\.id)
            found += tokens.values.filter { $0.user == id }.map { "token \($0.id)" }
        case .orgs:
            found += users.values.filter { $0.organization == id }.map(\.id)
            found += aliases.values.filter { $0.organization == id }.map { "alias \($0.id)" }
        case .apps:
            found += principals.values.filter { $0.app == id }.map(\.id)
            found += tokens.values.filter { $0.app == id }.map { "token \($0.id)" }
        case .principals:
            found += tokens.values.filter { $0.principal == id }.map { "token \($0.id)" }
            if profiles[id] != nil { found.append("profile \(id)") }
        case .credentials:
            found += deployments.values.filter { $0.credential == id }.map { "deployment \($0.id)" }
        case .profiles:
            found += profiles.values.filter { $0.role == id }.map { "profile \($0.id)" }
        case .dlp:
            found += organizations.values.filter { $0.dlp == id }.map(\.id)
            found += applications.values.filter { $0.dlp == id }.map(\.id)
        case .deployments, .aliases, .fallbacks:
            break
        }
        return found.sorted()
    }
}
