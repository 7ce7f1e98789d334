import HTTPTypes
import Policy

extension AdminRoutes {
    /// Quota and pricing revisions (append-only: upsert and revoke) and the audit history.
    var revisionEndpoints: [AdminEndpoint] {
        let status = AdminEndpoint.Parameter(name: "status", description: "active (in force), revoked (revocations), superseded (replaced by a later upsert) or all (default)", schema: .oneOf(RevisionStatus.self))
        return [
            AdminEndpoint(
                method: .get, path: "/admin/api/quotas", scope: .adminRead, tag: "Quotas", summary: "List quota revisions, newest first",
                parameters: [
                    .init(name: "lane", description: "one lane", schema: .oneOf(QuotaLane.self)),
                    .init(name: "subject", description: "exact subject (user:alice, key:openai:prod …)"),
                    .init(name: "name", description: "contained in the quota name"), status,
                ] + AdminEndpoint.pagingParameters,
                response: PageView<QuotaRevisionView>.schema("QuotaRevision"),
                handler: { call in
                    let state = try await call.state()
                    let filter = QuotaFilter(
                        lane: try call.query("lane", as: QuotaLane.self), subject: call.query("subject"), name: call.query("name"),
                        status: try call.query("status", as: RevisionStatus.self) ?? .all)
                    return try .json(try state.quotaRevisions(filter, try call.page()).map { QuotaRevisionView($0, state) })
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/quotas", scope: .adminWrite, tag: "Quotas",
                summary: "Upsert a quota: appends a revision (the running window keeps its usage)",
                body: QuotaBody.schema, response: .reference("QuotaRevision"), responseStatus: .created,
                handler: { call in
                    let body = try await call.body(QuotaBody.self, schema: QuotaBody.schema)
                    let outcome = try await call.submit(.upsertQuota(try body.revision()), reason: body.reason)
                    return try .json(QuotaRevisionView(try revision(outcome, in: \.quotaRevisions, call), call.reader.current), status: .created)
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/quotas/revoke", scope: .adminWrite, tag: "Quotas",
                summary: "Revoke a quota: appends a revocation revision",
                body: QuotaRevokeBody.schema, response: .reference("QuotaRevision"), responseStatus: .created,
                handler: { call in
                    let body = try await call.body(QuotaRevokeBody.self, schema: QuotaRevokeBody.schema)
                    let lane = try enumValue(body.lane, default: QuotaLane.user, field: "lane")
                    let outcome = try await call.submit(.revokeQuota(lane: lane, subject: body.subject, name: body.name), reason: body.reason)
                    return try .json(QuotaRevisionView(try revision(outcome, in: \.quotaRevisions, call), call.reader.current), status: .created)
                }),
            AdminEndpoint(
                method: .get, path: "/admin/api/pricing", scope: .adminRead, tag: "Pricing", summary: "List pricing revisions, newest first",
                parameters: [
                    .init(name: "scope", description: "one scope", schema: .oneOf(PricingScope.self)),
                    .init(name: "subject", description: "exact subject (key:openai:prod, ollama:gemma4:e2b, gpt-4o)"), status,
                ] + AdminEndpoint.pagingParameters,
                response: PageView<PricingRevisionView>.schema("PricingRevision"),
                handler: { call in
                    let state = try await call.state()
                    let filter = PricingFilter(
                        scope: try call.query("scope", as: PricingScope.self), subject: call.query("subject"),
                        status: try call.query("status", as: RevisionStatus.self) ?? .all)
                    return try .json(try state.pricingRevisions(filter, try call.page()).map { PricingRevisionView($0, state) })
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/pricing", scope: .adminWrite, tag: "Pricing", summary: "Upsert a price: appends a revision",
                body: PricingBody.schema, response: .reference("PricingRevision"), responseStatus: .created,
                handler: { call in
                    let body = try await call.body(PricingBody.self, schema: PricingBody.schema)
                    let outcome = try await call.submit(.upsertPricing(try body.revision()), reason: body.reason)
                    return try .json(PricingRevisionView(try revision(outcome, in: \.pricingRevisions, call), call.reader.current), status: .created)
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/pricing/revoke", scope: .adminWrite, tag: "Pricing",
                summary: "Revoke a price: appends a revocation revision",
                body: PricingRevokeBody.schema, response: .reference("PricingRevision"), responseStatus: .created,
                handler: { call in
                    let body = try await call.body(PricingRevokeBody.self, schema: PricingRevokeBody.schema)
                    let scope = try enumValue(body.scope, default: PricingScope.model, field: "scope")
                    let outcome = try await call.submit(.revokePricing(scope: scope, subject: body.subject), reason: body.reason)
                    return try .json(PricingRevisionView(try revision(outcome, in: \.pricingRevisions, call), call.reader.current), status: .created)
                }),
            AdminEndpoint(
                method: .get, path: "/admin/api/history", scope: .adminRead, tag: "History", summary: "The audit trail, newest first",
                parameters: [
                    .init(name: "actor", description: "exact actor principal"), .init(name: "subject", description: "exact record id or revision number"),
                    .init(name: "action", description: "action prefix: quota, token.issue, user.put …"),
                    .init(name: "since", description: "ms since the epoch, inclusive", schema: .integer()),
                    .init(name: "until", description: "ms since the epoch, inclusive", schema: .integer()),
                ] + AdminEndpoint.pagingParameters,
                response: PageView<HistoryRecordView>.schema("HistoryRecord"),
                handler: { call in
                    let state = try await call.state()
                    let filter = HistoryFilter(
                        actor: call.query("actor"), subject: call.query("subject"), action: call.query("action"),
                        since: try call.query("since", as: Int64.self), until: try call.query("until", as: Int64.self))
                    return try .json(try state.history(filter, try call.page()).map(HistoryRecordView.init))
                }),
        ]
    }
}

/// The revision an outcome names.
private func revision<R>(_ outcome: PolicyOutcome, in list: KeyPath<PolicyState, [R]>, _ call: AdminCall) throws -> R {
    let all = call.reader.current[keyPath: list]
    guard let number = outcome.revision, number >= 1, number <= all.count else {
        throw AdminError(PolicyError.notFound(kind: "revision", id: outcome.id))
    }
    return all[number - 1]
}
