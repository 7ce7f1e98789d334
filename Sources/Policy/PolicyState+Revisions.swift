extension PolicyState {
    /// The most a cap may be: 9.2e15 micro-USD (9.2 billion USD), tokens or requests.
    public static let capMax: Int64 = 9_200_000_000_000_000

    mutating func upsertQuota(_ proposed: QuotaRevision, stamp: AuditStamp) throws(PolicyError) -> Executed {
        try validateSubject(proposed.subject, lane: proposed.lane)
        try Check.name(proposed.name, field: "name")
        guard let period = proposed.period else { throw .invalid(field: "period", message: "is required; one of \(QuotaPeriod.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard proposed.maxMicroUSD != nil || proposed.maxTokens != nil || proposed.maxRequests != nil else {
            throw .invalid(field: "max_usd", message: "a quota needs at least one cap: max_usd, max_tokens or max_requests")
        }
        for (value, field) in [(proposed.maxMicroUSD, "max_usd"), (proposed.maxTokens, "max_tokens"), (proposed.maxRequests, "max_requests")] {
            try Check.nonNegative(value, field: field)
            if let value, value > Self.capMax { throw .invalid(field: field, message: "is larger than the largest cap") }
        }
        var revision = proposed
        revision.id = quotaRevisions.count + 1
        revision.revoked = false
        revision.stamp = stamp
        append(revision)
        return (PolicyOutcome(id: String(revision.id), revision: revision.id), "quota.upsert",
                "\(revision.lane.rawValue) \(revision.subject) '\(revision.name)' per \(period.rawValue)")
    }

    mutating func revokeQuota(lane: QuotaLane, subject: String, name: String, stamp: AuditStamp) throws(PolicyError) -> Executed {
        let key = QuotaKey(lane: lane, subject: subject, name: name)
        guard let latest = latestQuota[key], !quotaRevisions[latest].revoked else {
            throw .notFound(kind: "active quota", id: "\(lane.rawValue) \(subject) '\(name)'")
        }
        let revision = QuotaRevision(
            id: quotaRevisions.count + 1, lane: lane, subject: subject, name: name, period: nil, maxMicroUSD: nil,
            maxTokens: nil, maxRequests: nil, rollover: false, revoked: true, stamp: stamp)
        append(revision)
        return (PolicyOutcome(id: String(revision.id), revision: revision.id), "quota.revoke", "\(lane.rawValue) \(subject) '\(name)'")
    }

    /// Appends a quota revision and points the indexes at it.
    mutating func append(_ revision: QuotaRevision) {
        quotaRevisions.append(revision)
        quotaPositions.file(
            quotaRevisions.count - 1,
            under: [.init(kind: .lane, value: revision.lane.rawValue), .init(kind: .subject, value: revision.subject)], name: revision.name)
        let key = QuotaKey(lane: revision.lane, subject: revision.subject, name: revision.name)
        latestQuota[key] = quotaRevisions.count - 1
        let subject = QuotaSubject(lane: revision.lane, subject: revision.subject)
        if revision.revoked {
            quotaNamesBySubject[subject]?.remove(revision.name)
            if quotaNamesBySubject[subject]?.isEmpty == true { quotaNamesBySubject[subject] = nil }
        } else {
            quotaNamesBySubject[subject, default: []].insert(revision.name)
        }
    }

    private func validateSubject(_ subject: String, lane: QuotaLane) throws(PolicyError) {
        let known: Bool = switch lane {
        case .token: tokens[subject] != nil
        case .key: credentials[subject] != nil
        case .principal: principals[subject] != nil
        case .user: users[subject] != nil
        case .app: applications[subject] != nil
        case .org: organizations[subject] != nil
        }
        guard known else { throw .unknownReference(field: "subject", id: subject) }
    }

    mutating func upsertPricing(_ proposed: PricingRevision, stamp: AuditStamp) throws(PolicyError) -> Executed {
        switch proposed.scope {
        case .key: try Check.exists(proposed.subject, field: "subject") { credentials[$0] != nil }
        case .providerModel:
            try Check.plainID(proposed.subject, field: "subject")
            let parts = proposed.subject.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .invalid(field: "subject", message: "'\(proposed.subject.prefix(80))' must be provider:model (example: ollama:gemma4:e2b)")
            }
        case .model: try Check.plainID(proposed.subject, field: "subject")
        }
        guard proposed.inputNanoUSDPer1k != nil || proposed.outputNanoUSDPer1k != nil else {
            throw .invalid(field: "per_1k", message: "give per_1k, or input_per_1k and output_per_1k")
        }
        try Check.nonNegative(proposed.inputNanoUSDPer1k, field: "input_per_1k")
        try Check.nonNegative(proposed.outputNanoUSDPer1k, field: "output_per_1k")
        try Check.nonNegative(proposed.cachedInputNanoUSDPer1k, field: "cached_input_per_1k")
        try Check.text(proposed.note, field: "note")
        var revision = proposed
        revision.id = pricingRevisions.count + 1
        revision.revoked = false
        revision.stamp = stamp
        append(revision)
        return (PolicyOutcome(id: String(revision.id), revision: revision.id), "pricing.upsert", "\(revision.scope.rawValue) \(revision.subject)")
    }

    mutating func revokePricing(scope: PricingScope, subject: String, stamp: AuditStamp) throws(PolicyError) -> Executed {
        guard let latest = latestPrice[PriceKey(scope: scope, subject: subject)], !pricingRevisions[latest].revoked else {
            throw .notFound(kind: "active price", id: "\(scope.rawValue) \(subject)")
        }
        let revision = PricingRevision(
            id: pricingRevisions.count + 1, scope: scope, subject: subject, inputNanoUSDPer1k: nil, outputNanoUSDPer1k: nil,
            cachedInputNanoUSDPer1k: nil, note: nil, revoked: true, stamp: stamp)
        append(revision)
        return (PolicyOutcome(id: String(revision.id), revision: revision.id), "pricing.revoke", "\(scope.rawValue) \(subject)")
    }

    mutating func append(_ revision: PricingRevision) {
        pricingRevisions.append(revision)
        pricingPositions.file(pricingRevisions.count - 1, under: [
            .init(kind: .scope, value: revision.scope.rawValue), .init(kind: .subject, value: revision.subject),
        ])
        latestPrice[PriceKey(scope: revision.scope, subject: revision.subject)] = pricingRevisions.count - 1
    }
}
