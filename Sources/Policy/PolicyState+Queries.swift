/// Filters of the quota revisions table.
public struct QuotaFilter: Equatable, Sendable {
    public var lane: QuotaLane?
    /// Exact subject.
    public var subject: String?
    /// Contained in the quota name (case-insensitive).
    public var name: String?
    public var status: RevisionStatus = .all
    public init(lane: QuotaLane? = nil, subject: String? = nil, name: String? = nil, status: RevisionStatus = .all) {
        self.lane = lane
        self.subject = subject
        self.name = name
        self.status = status
    }
}

/// Filters of the pricing revisions table.
public struct PricingFilter: Equatable, Sendable {
    public var scope: PricingScope?
    public var subject: String?
    public var status: RevisionStatus = .all
    public init(scope: PricingScope? = nil, subject: String? = nil, status: RevisionStatus = .all) {
        self.scope = scope
        self.subject = subject
        self.status = status
    }
}

/// Filters of the users table.
public struct UserFilter: Equatable, Sendable {
    /// Contained in the id, display name or email (case-insensitive).
    public var text: String?
    /// Exact organization: its members.
    public var organization: String?
    public var status: User.Status?
    public var role: User.Role?
    public init(text: String? = nil, organization: String? = nil, status: User.Status? = nil, role: User.Role? = nil) {
        self.text = text
        self.organization = organization
        self.status = status
        self.role = role
    }
}

/// Filters of the token table.
public struct TokenFilter: Equatable, Sendable {
    /// `revoked` tokens were revoked; `expired` ones passed their expiry unrevoked.
    public enum Status: String, CaseIterable, Sendable { case active, revoked, expired, all }
    public var principal: String?
    public var user: String?
    public var app: String?
    public var status: Status = .all
    public init(principal: String? = nil, user: String? = nil, app: String? = nil, status: Status = .all) {
        self.principal = principal
        self.user = user
        self.app = app
        self.status = status
    }
}

/// Filters of the audit history.
public struct HistoryFilter: Equatable, Sendable {
    public var actor: String?
    /// Exact subject (record id or revision number).
    public var subject: String?
    /// Action prefix: `quota` matches `quota.upsert` and `quota.revoke`.
    public var action: String?
    /// Inclusive bounds on the time, ms since the epoch.
    public var since: Int64?
    public var until: Int64?
    public init(actor: String? = nil, subject: String? = nil, action: String? = nil, since: Int64? = nil, until: Int64? = nil) {
        self.actor = actor
        self.subject = subject
        self.action = action
        self.since = since
        self.until = until
    }
}

extension PolicyState {
    /// Users whose id, display name or email contains `text` (case-insensitive), by id.
    public func users(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<User> {
        try users(UserFilter(text: text), page)
    }

    /// Users by id, filtered.
    public func users(_ filter: UserFilter, _ page: PageRequest) throws(PolicyError) -> Page<User> {
        var fields: [(String, String)] = []
        if let organization = filter.organization { fields.append(("organization", organization)) }
        if let status = filter.status { fields.append(("status", status.rawValue)) }
        if let role = filter.role { fields.append(("role", role.rawValue)) }
        return try users.page(page, TableQuery(text: filter.text, fields: fields) { user in
            (filter.organization.map { user.organization == $0 } ?? true) && (filter.status.map { user.status == $0 } ?? true)
                && (filter.role.map { user.role == $0 } ?? true)
        })
    }

    /// Organizations whose id, name or slug contains `text`.
    public func organizations(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<Organization> {
        try organizations.page(page, TableQuery(text: text))
    }

    /// Applications whose id, display name or slug contains `text`.
    /// `active` keeps only active (true) or inactive (false) ones.
    public func applications(matching text: String?, active: Bool? = nil, _ page: PageRequest) throws(PolicyError) -> Page<Application> {
        let fields = active.map { [("active", String($0))] } ?? []
        return try applications.page(page, TableQuery(text: text, fields: fields) { app in active.map { app.active == $0 } ?? true })
    }

    /// Principals whose id, kind, namespace, groups or app binding contains `text`.
    public func principals(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<Principal> {
        try principals.page(page, TableQuery(text: text))
    }

    /// Tokens by id, filtered; `now` decides expiry for the status filter.
    public func tokens(_ filter: TokenFilter, now: Int64, _ page: PageRequest) throws(PolicyError) -> Page<ClientToken> {
        var fields: [(String, String)] = []
        if let principal = filter.principal { fields.append(("principal", principal)) }
        if let user = filter.user { fields.append(("user", user)) }
        if let app = filter.app { fields.append(("app", app)) }
        if filter.status == .revoked { fields.append(("revoked", "true")) }
        return try tokens.page(page, TableQuery(fields: fields) { token in
            (filter.principal.map { token.principal == $0 } ?? true) && (filter.user.map { token.user == $0 } ?? true)
                && (filter.app.map { token.app == $0 } ?? true)
                && Self.tokenStatus(token, now: now, is: filter.status)
        })
    }

    /// Quota revisions, newest first, filtered.
    public func quotaRevisions(_ filter: QuotaFilter, _ page: PageRequest) throws(PolicyError) -> Page<QuotaRevision> {
        var keys: [RevisionIndex.Key] = []
        if let lane = filter.lane { keys.append(.init(kind: .lane, value: lane.rawValue)) }
        if let subject = filter.subject { keys.append(.init(kind: .subject, value: subject)) }
        let needle = SearchText.needle(filter.name)
        let candidates = quotaPositions.candidates(keys, nameContaining: needle)
        return try Self.newestFirst(quotaRevisions, candidates, page) { revision in
            (filter.lane.map { revision.lane == $0 } ?? true) && (filter.subject.map { revision.subject == $0 } ?? true)
                && (needle.map { SearchText.contains(SearchText.fold(revision.name), $0) } ?? true)
                && Self.revisionStatus(revision.revoked, active: isActive(revision), is: filter.status)
        }
    }

    /// Pricing revisions, newest first, filtered.
    public func pricingRevisions(_ filter: PricingFilter, _ page: PageRequest) throws(PolicyError) -> Page<PricingRevision> {
        var keys: [RevisionIndex.Key] = []
        if let scope = filter.scope { keys.append(.init(kind: .scope, value: scope.rawValue)) }
        if let subject = filter.subject { keys.append(.init(kind: .subject, value: subject)) }
        return try Self.newestFirst(pricingRevisions, pricingPositions.candidates(keys, nameContaining: nil), page) { revision in
            (filter.scope.map { revision.scope == $0 } ?? true) && (filter.subject.map { revision.subject == $0 } ?? true)
                && Self.revisionStatus(revision.revoked, active: isActive(revision), is: filter.status)
        }
    }

    private static func revisionStatus(_ revoked: Bool, active: Bool, is status: RevisionStatus) -> Bool {
        switch status {
        case .all: true
        case .revoked: revoked
        case .active: active
        case .superseded: !revoked && !active
        }
    }

    private static func tokenStatus(_ token: ClientToken, now: Int64, is status: TokenFilter.Status) -> Bool {
        switch status {
        case .all: true
        case .revoked: token.revoked
        case .active: token.isUsable(at: now)
        case .expired: !token.revoked && !token.isUsable(at: now)
        }
    }

    /// Audit records, newest first, filtered.
    public func history(_ filter: HistoryFilter, _ page: PageRequest) throws(PolicyError) -> Page<HistoryRecord> {
        let firstID = history.first?.id ?? 1
        let before = try page.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeNumber(cursor) } ?? Int.max
        var items: [HistoryRecord] = []
        let (offset, overflow) = before.subtractingReportingOverflow(firstID)
        var position = min(history.count, overflow ? history.count : max(0, offset)) - 1
        while position >= 0 {
            let record = history[position]
            position -= 1
            if let since = filter.since, record.stamp.at < since { break }
            guard (filter.actor.map { record.stamp.actor == $0 } ?? true), (filter.subject.map { record.subject == $0 } ?? true),
                  (filter.action.map { record.action.hasPrefix($0) } ?? true), (filter.until.map { record.stamp.at <= $0 } ?? true)
            else { continue }
            if items.count == page.limit { return Page(items: items, nextCursor: PageCursor.encode(number: items[items.count - 1].id)) }
            items.append(record)
        }
        return Page(items: items, nextCursor: nil)
    }

    /// Revisions with ids 1…n stored at 0…n−1, read newest first after the cursor, from
    /// the ascending `candidates` positions (every position when nil).
    private static func newestFirst<R: Sendable>(
        _ all: [R], _ candidates: [Int]?, _ page: PageRequest, where matches: (R) -> Bool
    ) throws(PolicyError) -> Page<R> {
        let before = try page.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeNumber(cursor) } ?? Int.max
        let end = min(all.count, before - 1)  // positions below `end` are on this page or later
        var items: [R] = []
        var walk = candidates.map { list in list.firstIndex(notBelow: end) } ?? end
        while walk > 0 {
            walk -= 1
            let position = candidates?[walk] ?? walk
            guard position < all.count else { continue }
            let revision = all[position]
            if matches(revision) {
                if items.count == page.limit { return Page(items: items, nextCursor: PageCursor.encode(number: position + 2)) }
                items.append(revision)
            }
        }
        return Page(items: items, nextCursor: nil)
    }
}
