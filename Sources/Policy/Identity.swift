/// A person known to the gateway (`user:alice`).
public struct User: PolicyRecord, Hashable {
    public enum Status: String, Codable, CaseIterable, Sendable { case active, suspended, disabled }
    public enum Role: String, Codable, CaseIterable, Sendable { case member, admin, owner, viewer }

    public var id: String
    public var displayName: String?
    public var email: String?
    public var status: Status
    public var role: Role
    /// The organization (`org:…`) the user belongs to, if any.
    public var organization: String?
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, displayName: String?, email: String?, status: Status, role: Role, organization: String?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.displayName = displayName
        self.email = email
        self.status = status
        self.role = role
        self.organization = organization
        self.created = created
        self.updated = updated
    }
}

/// An organization (`org:acme`): groups users, owns a spend cap (a quota on the `org`
/// lane) and may turn DLP on for its users' keys.
public struct Organization: PolicyRecord, Hashable {
    public var id: String
    public var name: String
    /// URL-safe short name, unique among organizations.
    public var slug: String
    /// The owning user (`user:…`), if any.
    public var owner: String?
    /// The DLP policy (`dlp:…`) applied to requests of its users, if any.
    public var dlp: String?
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, name: String, slug: String, owner: String?, dlp: String?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.name = name
        self.slug = slug
        self.owner = owner
        self.dlp = dlp
        self.created = created
        self.updated = updated
    }
}

/// An application (`app:crm-assistant`) that calls models through the gateway.
public struct Application: PolicyRecord, Hashable {
    public var id: String
    public var displayName: String?
    /// URL-safe short name, unique among applications when set.
    public var slug: String?
    /// Who to call about it (an email or a name).
    public var contact: String?
    public var active: Bool
    /// The DLP policy (`dlp:…`) applied to requests made with its keys, if any.
    public var dlp: String?
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, displayName: String?, slug: String?, contact: String?, active: Bool, dlp: String?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.displayName = displayName
        self.slug = slug
        self.contact = contact
        self.active = active
        self.dlp = dlp
        self.created = created
        self.updated = updated
    }
}

/// Something that authenticates with a token: an agent, a service or a human.
public struct Principal: PolicyRecord, Hashable {
    public enum Kind: String, Codable, CaseIterable, Sendable { case agent, service, human }

    public var id: String
    public var kind: Kind
    /// The tenant namespace; `tenant:default` unless given.
    public var namespace: String
    /// Groups used for ACL sharing (`app-dev`, `finance`).
    public var groups: [String]
    /// The application it acts for (`app:…`), if any.
    public var app: String?
    public var purpose: String?
    public var created: AuditStamp
    public var updated: AuditStamp

    /// A record with every field given.
    public init(id: String, kind: Kind, namespace: String, groups: [String], app: String?, purpose: String?, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.kind = kind
        self.namespace = namespace
        self.groups = groups
        self.app = app
        self.purpose = purpose
        self.created = created
        self.updated = updated
    }
}

/// A client token. The secret itself is never stored: only its SHA-256 (hex), the public
/// id and a display prefix, so a token can be recognised, listed and revoked.
public struct ClientToken: PolicyRecord, Hashable {
    public var id: String
    /// Lower-case hex SHA-256 of the whole secret as the client presents it.
    public var secretHash: String
    /// The first characters of the secret, for recognising it in tables (`weir_Ab12…`).
    public var displayPrefix: String
    public var name: String?
    public var principal: String
    public var namespace: String
    public var user: String?
    public var app: String?
    public var scopes: [String]
    /// The model names it may ask for (as requested, or as an alias resolves); nil for all.
    public var models: [String]?
    /// True: its requests never use the response cache.
    public var cacheOptOut: Bool?
    /// Milliseconds since the epoch after which the token is refused; nil for never.
    public var expiresAt: Int64?
    public var revoked: Bool
    public var created: AuditStamp
    public var updated: AuditStamp

    /// Whether the token may be used at `now` (ms): not revoked and not expired.
    public func isUsable(at now: Int64) -> Bool { !revoked && (expiresAt.map { now < $0 } ?? true) }

    /// Whether it may ask for `requested`, which routes to `resolved`.
    public func allows(model requested: String, resolved: String) -> Bool {
        guard let models else { return true }
        return models.contains(requested) || models.contains(resolved)
    }

    /// A record with every field given.
    public init(id: String, secretHash: String, displayPrefix: String, name: String?, principal: String, namespace: String, user: String?, app: String?, scopes: [String], models: [String]? = nil, expiresAt: Int64?, revoked: Bool, created: AuditStamp, updated: AuditStamp) {
        self.id = id
        self.secretHash = secretHash
        self.displayPrefix = displayPrefix
        self.name = name
        self.principal = principal
        self.namespace = namespace
        self.user = user
        self.app = app
        self.scopes = scopes
        self.models = models
        self.expiresAt = expiresAt
        self.revoked = revoked
        self.created = created
        self.updated = updated
    }
}

/// The scopes a token can hold. `admin.super` implies `admin.write`, which implies `admin.read`.
public enum Scope: String, CaseIterable, Sendable {
    case modelInvoke = "model.invoke"
    case adminRead = "admin.read"
    case adminWrite = "admin.write"
    case adminSuper = "admin.super"
    /// May send `x-weir-dlp-bypass: <reason>` to skip DLP (the bypass is logged).
    case dlpBypass = "dlp.bypass"

    /// True when a token with `scopes` may act with this scope.
    public func isGranted(by scopes: [String]) -> Bool {
        switch self {
        case .modelInvoke, .dlpBypass: scopes.contains(rawValue)
        case .adminRead: scopes.contains { $0 == "admin.read" || $0 == "admin.write" || $0 == "admin.super" }
        case .adminWrite: scopes.contains { $0 == "admin.write" || $0 == "admin.super" }
        case .adminSuper: scopes.contains("admin.super")
        }
    }
}

// What each table's text search looks in and which filters it indexes (RecordIndex.swift).

extension User {
    public var searchFields: [String?] { [id, displayName, email] }
    public var indexedFields: [(String, String)] {
        [("status", status.rawValue), ("role", role.rawValue)] + (organization.map { [("organization", $0)] } ?? [])
    }
}

extension Organization {
    public var searchFields: [String?] { [id, name, slug] }
}

extension Application {
    public var searchFields: [String?] { [id, displayName, slug] }
    public var indexedFields: [(String, String)] { [("active", String(active))] }
}

extension Principal {
    public var searchFields: [String?] { [id, kind.rawValue, namespace, app] + groups }
}

extension ClientToken {
    public var indexedFields: [(String, String)] {
        [("principal", principal), ("revoked", String(revoked))] + (user.map { [("user", $0)] } ?? []) + (app.map { [("app", $0)] } ?? [])
    }
}
