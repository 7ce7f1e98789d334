/// A request's price: nano-USD per 1,000 tokens and the revision it came from.
public struct Price: Equatable, Sendable {
    public var inputNanoUSDPer1k: Int64
    public var outputNanoUSDPer1k: Int64
    public var cachedInputNanoUSDPer1k: Int64
    /// The pricing revision in force.
    public var revision: Int
    public var scope: PricingScope
}

extension PolicyState {
    /// The token whose secret hashes to `secretHash` (lower-case hex SHA-256): O(1).
    public func token(secretHash: String) -> ClientToken? {
        tokenIDByHash[secretHash].flatMap { tokens[$0] }
    }

    /// The revisions in force of every quota on the given lanes and subjects: O(k) in the
    /// number of quotas found. Sorted by lane, subject and name.
    public func activeQuotas(for subjects: [(lane: QuotaLane, subject: String)]) -> [QuotaRevision] {
        var found: [QuotaRevision] = []
        for (lane, subject) in subjects {
            guard let names = quotaNamesBySubject[QuotaSubject(lane: lane, subject: subject)] else { continue }
            for name in names.sorted() {
                if let index = latestQuota[QuotaKey(lane: lane, subject: subject, name: name)] { found.append(quotaRevisions[index]) }
            }
        }
        return found
    }

    /// The revision in force of the quota `(lane, subject, name)`, if any.
    public func activeQuota(lane: QuotaLane, subject: String, name: String) -> QuotaRevision? {
        guard let index = latestQuota[QuotaKey(lane: lane, subject: subject, name: name)], !quotaRevisions[index].revoked else { return nil }
        return quotaRevisions[index]
    }

    /// The price of a request served with `credential` (`key:openai:prod`) by `provider`
    /// for `model`: the credential's price over the provider's model's over the model's.
    /// O(1). A price with only input or output applies it to both.
    public func price(credential: String?, provider: String?, model: String) -> Price? {
        var candidates: [PriceKey] = []
        if let credential { candidates.append(PriceKey(scope: .key, subject: credential)) }
        if let provider { candidates.append(PriceKey(scope: .providerModel, subject: "\(provider):\(model)")) }
        candidates.append(PriceKey(scope: .model, subject: model))
        for key in candidates {
            guard let index = latestPrice[key], !pricingRevisions[index].revoked else { continue }
            let revision = pricingRevisions[index]
            let input = revision.inputNanoUSDPer1k ?? revision.outputNanoUSDPer1k ?? 0
            let output = revision.outputNanoUSDPer1k ?? input
            return Price(
                inputNanoUSDPer1k: input, outputNanoUSDPer1k: output,
                cachedInputNanoUSDPer1k: revision.cachedInputNanoUSDPer1k ?? input, revision: revision.id, scope: revision.scope)
        }
        return nil
    }

    /// Whether revision `revision` is in force (the latest of its quota, not a revocation).
    public func isActive(_ revision: QuotaRevision) -> Bool {
        !revision.revoked && revision.id > 0 && latestQuota[QuotaKey(lane: revision.lane, subject: revision.subject, name: revision.name)] == revision.id - 1
    }

    /// Whether pricing revision `revision` is in force.
    public func isActive(_ revision: PricingRevision) -> Bool {
        !revision.revoked && revision.id > 0 && latestPrice[PriceKey(scope: revision.scope, subject: revision.subject)] == revision.id - 1
    }

    /// The model an agent uses in `mode`: its own choice, else its role's; nil if neither says.
    public func profileModel(for agent: String, mode: CostMode) -> String? {
        guard let profile = profiles[agent] else { return nil }
        return profile.models[mode] ?? profile.role.flatMap { profiles[$0]?.models[mode] }
    }

    /// The model `requested` routes to for `organization`: its alias there, else the global
    /// alias, else itself. One hop: an alias's target is not aliased again.
    public func resolveAlias(_ requested: String, organization: String?) -> String {
        if let organization, let alias = aliases[Alias.id(requested: requested, organization: organization)] { return alias.routedTo }
        return aliases[Alias.id(requested: requested, organization: nil)]?.routedTo ?? requested
    }
}
