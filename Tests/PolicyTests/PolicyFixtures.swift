@testable import Policy

/// Builders for commands with the placeholder stamps, and a tiny applier.
enum Fixture {
    static let pending = AuditStamp.pending

    static func user(_ id: String, name: String? = nil, email: String? = nil, org: String? = nil) -> User {
        User(id: id, displayName: name, email: email, status: .active, role: .member, organization: org, created: pending, updated: pending)
    }

    static func org(_ id: String, slug: String, owner: String? = nil, dlp: String? = nil) -> Organization {
        Organization(id: id, name: "Org \(slug)", slug: slug, owner: owner, dlp: dlp, created: pending, updated: pending)
    }

    static func app(_ id: String, name: String? = nil, dlp: String? = nil) -> Application {
        Application(id: id, displayName: name, slug: nil, contact: nil, active: true, dlp: dlp, created: pending, updated: pending)
    }

    static func principal(_ id: String, app: String? = nil, groups: [String] = []) -> Principal {
        let kind = id.split(separator: ":").first.flatMap { Principal.Kind(rawValue: String($0)) } ?? .agent
        return Principal(id: id, kind: kind, namespace: "tenant:default", groups: groups, app: app, purpose: nil, created: pending, updated: pending)
    }

    static func token(_ id: String, hash: String, principal: String, scopes: [String] = ["model.invoke"], user: String? = nil) -> ClientToken {
        ClientToken(
            id: id, secretHash: hash, displayPrefix: "weir_\(id)", name: nil, principal: principal, namespace: "tenant:default",
            user: user, app: nil, scopes: scopes, expiresAt: nil, revoked: false, created: pending, updated: pending)
    }

    static func credential(_ id: String, secret: [UInt8]? = [1, 2, 3]) -> Credential {
        Credential(id: id, provider: .openai, baseURL: nil, sealedSecret: secret, extraHeaders: [:], created: pending, updated: pending)
    }

    static func quota(_ lane: QuotaLane, _ subject: String, _ name: String, period: QuotaPeriod = .hour, requests: Int64? = 10, usd: Int64? = nil) -> QuotaRevision {
        QuotaRevision(
            id: 0, lane: lane, subject: subject, name: name, period: period, maxMicroUSD: usd, maxTokens: nil, maxRequests: requests,
            rollover: false, revoked: false, stamp: pending)
    }

    static func price(_ scope: PricingScope, _ subject: String, input: Int64?, output: Int64?) -> PricingRevision {
        PricingRevision(
            id: 0, scope: scope, subject: subject, inputNanoUSDPer1k: input, outputNanoUSDPer1k: output, cachedInputNanoUSDPer1k: nil,
            note: nil, revoked: false, stamp: pending)
    }

    static func hash(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 64 - hex.count) + hex
    }
}

/// A state with a log clock: applies commands at index 1, 2, 3 … and time 1000, 2000 …
struct Applier {
    var state = PolicyState()
    var index: UInt64 = 0

    @discardableResult
    mutating func apply(_ command: PolicyCommand, actor: String = "human:admin", reason: String? = nil) -> Result<PolicyOutcome, PolicyError> {
        index += 1
        return state.apply(PolicyEntry(actor: actor, reason: reason, command: command), time: Int64(index) * 1000, index: index)
    }

    /// Applies and expects success.
    mutating func must(_ command: PolicyCommand) throws -> PolicyOutcome {
        try apply(command).get()
    }
}
