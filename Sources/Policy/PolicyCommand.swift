import Foundation

/// A change to the policy, as it travels through the Raft log. Records in commands carry
/// placeholder stamps (`AuditStamp.pending`): `PolicyState.apply` stamps them with the
/// entry's actor, leader time, reason and index, so every node records the same stamps.
public enum PolicyCommand: Codable, Equatable, Sendable {
    case putUser(User)
    case putOrganization(Organization)
    case putApplication(Application)
    case putPrincipal(Principal)
    /// Creates a token; its id and secret hash must be new.
    case issueToken(ClientToken)
    case revokeToken(id: String)
    /// Creates or replaces a credential; a nil `sealedSecret` keeps the stored one.
    case putCredential(Credential)
    case putDeployment(Deployment)
    /// The alias's id is derived from its requested model and organization.
    case putAlias(Alias)
    case putFallback(FallbackChain)
    case putProfile(ModelProfile)
    /// Puts many profiles at once (a YAML import); `replace` first deletes every profile
    /// not in the list. All or nothing.
    case importProfiles([ModelProfile], replace: Bool)
    case putDLP(DLPPolicy)
    case putSettings(GatewaySettings)
    case delete(PolicyTable, id: String)
    case upsertQuota(QuotaRevision)
    case revokeQuota(lane: QuotaLane, subject: String, name: String)
    case upsertPricing(PricingRevision)
    case revokePricing(scope: PricingScope, subject: String)
    /// The first start's super-admin: applied once per cluster, refused afterwards.
    case bootstrapAdmin(principal: Principal, token: ClientToken)
}

extension PolicyCommand {
    /// The first id this command would create or replace that is not in Unicode normal
    /// form C, as (field, id). Tables keep ids in order, and Swift orders two strings that
    /// mix normal forms inconsistently ("user:\u{E9}a13" and "user:e\u{301}a1" are each not
    /// below the other), which would misplace a page's cursor. Checked where a change is
    /// proposed and never when an entry is applied: a replica replaying an entry that an
    /// older build accepted must decide as that build did.
    public var newIDNotInNormalFormC: (field: String, id: String)? {
        let ids: [String] = switch self {
        case let .putUser(record): [record.id]
        case let .putOrganization(record): [record.id]
        case let .putApplication(record): [record.id]
        case let .putPrincipal(record): [record.id]
        case let .issueToken(record): [record.id]
        case let .putCredential(record): [record.id]
        case let .putDeployment(record): [record.id]
        case let .putFallback(record): [record.id]
        case let .putProfile(record): [record.id]
        case let .importProfiles(list, _): list.map(\.id)
        case let .putDLP(record): [record.id]
        case let .bootstrapAdmin(principal, token): [principal.id, token.id]
        case let .putAlias(alias): [Alias.id(requested: alias.requestedModel, organization: alias.organization)]
        case .revokeToken, .putSettings, .delete, .upsertQuota, .revokeQuota, .upsertPricing, .revokePricing: []
        }
        return ids.first { !$0.utf8.elementsEqual($0.precomposedStringWithCanonicalMapping.utf8) }.map { ("id", $0) }
    }
}

/// The deletable tables, by their admin API names.
public enum PolicyTable: String, Codable, CaseIterable, Sendable {
    case users, orgs, apps, principals, credentials, deployments, aliases, fallbacks, profiles, dlp
}

/// A command with who sent it and why: the body of a policy entry in the log. The leader
/// adds the time (see `PolicyEntryCodec`).
public struct PolicyEntry: Codable, Equatable, Sendable {
    public var actor: String
    public var reason: String?
    public var command: PolicyCommand

    public init(actor: String, reason: String? = nil, command: PolicyCommand) {
        self.actor = actor
        self.reason = reason
        self.command = command
    }
}

/// What an applied command produced: the id of the record or revision it touched.
public struct PolicyOutcome: Codable, Equatable, Sendable {
    /// The record id, or the revision's number as text.
    public var id: String
    /// The quota or pricing revision appended, if any.
    public var revision: Int?

    public init(id: String, revision: Int? = nil) {
        self.id = id
        self.revision = revision
    }
}

extension AuditStamp {
    /// The stamp records carry in a command, before `apply` stamps them.
    public static let pending = AuditStamp(actor: "", at: 0, reason: nil, index: 0)
}
