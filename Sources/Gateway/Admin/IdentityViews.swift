import HTTPTypes
import Policy

extension Schema {
    static let stamp = Schema.reference("AuditStamp")
    static let stampSchema = Schema.object([
        .init("actor", .string(description: "the principal whose token made the change"), required: true),
        .init("at", .integer(description: "ms since the epoch, the leader's clock"), required: true),
        .init("reason", .string(), required: false, nullable: true),
        .init("index", .integer(description: "the Raft index of the change"), required: true),
    ])
    static func text(_ description: String? = nil) -> Schema { .string(description: description) }
    static func oneOf<T: RawRepresentable & CaseIterable>(_: T.Type, _ description: String? = nil) -> Schema where T.RawValue == String {
        .string(description: description, allowed: T.allCases.map(\.rawValue))
    }
    static let stampProperties: [Property] = [.init("created", .stamp, required: true), .init("updated", .stamp, required: true)]
}

struct UserView: Encodable, Sendable {
    var id: String, display_name: String?, email: String?, status: String, role: String, organization: String?
    /// Caps per week on the user lane, from the active quotas (the console's "Weekly Cap").
    var weekly_cap_usd: Double?
    var created: AuditStamp, updated: AuditStamp

    init(_ u: User, _ state: PolicyState) {
        id = u.id; display_name = u.displayName; email = u.email; status = u.status.rawValue; role = u.role.rawValue
        organization = u.organization; created = u.created; updated = u.updated
        weekly_cap_usd = state.activeQuotas(for: [(.user, u.id)]).first { $0.period == .week && $0.maxMicroUSD != nil }
            .map { Double($0.maxMicroUSD!) / 1_000_000 }
    }

    static let schema = Schema.object([
        .init("id", .text("user:…"), required: true), .init("display_name", .text(), nullable: true), .init("email", .text(), nullable: true),
        .init("status", .oneOf(User.Status.self), required: true), .init("role", .oneOf(User.Role.self), required: true),
        .init("organization", .text("org:…"), nullable: true),
        .init("weekly_cap_usd", .number(description: "USD cap of the user's active weekly quota"), nullable: true),
    ] + Schema.stampProperties)
}

struct UserBody: Decodable, Sendable {
    var id: String, display_name: String?, email: String?, status: String?, role: String?, organization: String?

    func record() throws -> User {
        User(
            id: id, displayName: display_name, email: email, status: try enumValue(status, default: .active, field: "status"),
            role: try enumValue(role, default: .member, field: "role"), organization: organization, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["user:"], "must start with user: (example: user:alice)"), required: true),
        .init("display_name", .text("shown in admin tables")), .init("email", .text()),
        .init("status", .oneOf(User.Status.self, "default active")), .init("role", .oneOf(User.Role.self, "default member")),
        .init("organization", .id(["org:"], "org:…")),
    ])
}

struct OrganizationView: Encodable, Sendable {
    var id: String, name: String, slug: String, owner: String?, dlp: String?
    /// Users whose organization this is.
    var members: Int
    /// The USD cap and period of the org's active spend quota (the console's "API Spend Cap"), and its rollover.
    var spend_cap_usd: Double?, spend_cap_period: String?, rollover: Bool
    var created: AuditStamp, updated: AuditStamp

    init(_ o: Organization, _ state: PolicyState) {
        id = o.id; name = o.name; slug = o.slug; owner = o.owner; dlp = o.dlp; created = o.created; updated = o.updated
        members = state.users.values.reduce(0) { $0 + ($1.organization == o.id ? 1 : 0) }
        let cap = state.activeQuotas(for: [(.org, o.id)]).first { $0.maxMicroUSD != nil }
        spend_cap_usd = cap.map { Double($0.maxMicroUSD!) / 1_000_000 }
        spend_cap_period = cap?.period?.rawValue
        rollover = cap?.rollover ?? false
    }

    static let schema = Schema.object([
        .init("id", .text("org:…"), required: true), .init("name", .text(), required: true), .init("slug", .text(), required: true),
        .init("owner", .text("user:…"), nullable: true), .init("dlp", .text("dlp:…"), nullable: true),
        .init("members", .integer(), required: true), .init("spend_cap_usd", .number(), nullable: true),
        .init("spend_cap_period", .oneOf(QuotaPeriod.self), nullable: true), .init("rollover", .boolean(), required: true),
    ] + Schema.stampProperties)
}

struct OrganizationBody: Decodable, Sendable {
    var id: String, name: String, slug: String?, owner: String?, dlp: String?

    func record() -> Organization {
        let derived = String(id.dropFirst(4)).lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return Organization(id: id, name: name, slug: slug ?? String(derived), owner: owner, dlp: dlp, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["org:"], "must start with org: (example: org:acme)"), required: true),
        .init("name", .freeText(required: true), required: true),
        .init("slug", .slug("lower-case letters, digits, dashes; default from the id")), .init("owner", .id(["user:"], "user:…")),
        .init("dlp", .id(["dlp:"], "dlp:… policy applied to its users' requests")),
    ])
}

struct ApplicationView: Encodable, Sendable {
    var id: String, display_name: String?, slug: String?, contact: String?, active: Bool, dlp: String?
    var created: AuditStamp, updated: AuditStamp

    init(_ a: Application) {
        id = a.id; display_name = a.displayName; slug = a.slug; contact = a.contact; active = a.active; dlp = a.dlp
        created = a.created; updated = a.updated
    }

    static let schema = Schema.object([
        .init("id", .text("app:…"), required: true), .init("display_name", .text(), nullable: true), .init("slug", .text(), nullable: true),
        .init("contact", .text(), nullable: true), .init("active", .boolean(), required: true), .init("dlp", .text("dlp:…"), nullable: true),
    ] + Schema.stampProperties)
}

struct ApplicationBody: Decodable, Sendable {
    var id: String, display_name: String?, slug: String?, contact: String?, active: Bool?, dlp: String?

    func record() -> Application {
        Application(id: id, displayName: display_name, slug: slug, contact: contact, active: active ?? true, dlp: dlp, created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["app:"], "must start with app: (example: app:crm-assistant)"), required: true), .init("display_name", .text()),
        .init("slug", .text()), .init("contact", .text()), .init("active", .boolean(description: "default true")),
        .init("dlp", .text("dlp:… policy applied to requests made with its keys")),
    ])
}

struct PrincipalView: Encodable, Sendable {
    var id: String, kind: String, namespace: String, groups: [String], app: String?, purpose: String?
    var created: AuditStamp, updated: AuditStamp

    init(_ p: Principal) {
        id = p.id; kind = p.kind.rawValue; namespace = p.namespace; groups = p.groups; app = p.app; purpose = p.purpose
        created = p.created; updated = p.updated
    }

    static let schema = Schema.object([
        .init("id", .text("agent:…, service:… or human:…"), required: true), .init("kind", .oneOf(Principal.Kind.self), required: true),
        .init("namespace", .text("tenant:…"), required: true), .init("groups", .array(.text()), required: true),
        .init("app", .text("app:…"), nullable: true), .init("purpose", .text(), nullable: true),
    ] + Schema.stampProperties)
}

struct PrincipalBody: Decodable, Sendable {
    /// The namespace of principals and tokens that name none.
    static let defaultNamespace = "tenant:default"

    var id: String, kind: String?, namespace: String?, groups: [String]?, app: String?, purpose: String?

    func record() throws -> Principal {
        let prefixKind = id.split(separator: ":").first.flatMap { Principal.Kind(rawValue: String($0)) } ?? .agent
        return Principal(
            id: id, kind: try enumValue(kind, default: prefixKind, field: "kind"), namespace: namespace ?? Self.defaultNamespace,
            groups: (groups ?? []).flatMap { $0.split(separator: ",") }.map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty },
            app: app, purpose: purpose,
            created: .pending, updated: .pending)
    }

    static let schema = Schema.object([
        .init("id", .id(["agent:", "service:", "human:"], "prefix agent:, service: or human:"), required: true),
        .init("kind", .oneOf(Principal.Kind.self, "default from the id's prefix")),
        .init("namespace", .id(["tenant:"], "default tenant:default")), .init("groups", .array(.text(), description: "for ACL sharing; an item may be a CSV list (app-dev,finance)")),
        .init("app", .id(["app:"], "app:… it acts for")), .init("purpose", .text()),
    ])
}

/// `value` parsed as `T`, or `fallback` when absent; a bad value names `field`.
func enumValue<T: RawRepresentable & CaseIterable>(_ value: String?, default fallback: T, field: String) throws -> T where T.RawValue == String {
    guard let value else { return fallback }
    guard let parsed = T(rawValue: value) else {
        throw AdminError(.unprocessableContent, "invalid_request", "\(field): '\(value.prefix(80))' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", field: field)
    }
    return parsed
}
