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

/// Filters of the token table.
public struct TokenFilter: Equatable, Sendable {
    public enum Status: String, CaseIterable, Sendable { case active, revoked, all }
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
        try users.page(page) { Self.matches(text, [$0.id, $0.displayName, $0.email]) }
    }

    /// Organizations whose id, name or slug contains `text`.
    public func organizations(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<Organization> {
        try organizations.page(page) { Self.matches(text, [$0.id, $0.name, $0.slug]) }
    }

    /// Applications whose id, display name or slug contains `text`.
    public func applications(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<Application> {
        try applications.page(page) { Self.matches(text, [$0.id, $0.displayName, $0.slug]) }
    }

    /// Principals whose id, kind, namespace, groups or app binding contains `text`.
    public func principals(matching text: String?, _ page: PageRequest) throws(PolicyError) -> Page<Principal> {
        try principals.page(page) { Self.matches(text, [$0.id, $0.kind.rawValue, $0.namespace, $0.app] + $0.groups) }
    }

    /// Tokens by id, filtered; `now` decides expiry for the status filter.
    public func tokens(_ filter: TokenFilter, now: Int64, _ page: PageRequest) throws(PolicyError) -> Page<ClientToken> {
        try tokens.page(page) { token in
            (filter.principal.map { token.principal == $0 } ?? true) && (filter.user.map { token.user == $0 } ?? true)
                && (filter.app.map { token.app == $0 } ?? true)
                && (filter.status == .all || (filter.status == .active) == token.isUsable(at: now))
        }
    }

    /// Quota revisions, newest first, filtered.
    public func quotaRevisions(_ filter: QuotaFilter, _ page: PageRequest) throws(PolicyError) -> Page<QuotaRevision> {
        try Self.newestFirst(quotaRevisions, page) { revision in
            (filter.lane.map { revision.lane == $0 } ?? true) && (filter.subject.map { revision.subject == $0 } ?? true)
                && (filter.name.map { revision.name.lowercased().contains($0.lowercased()) } ?? true)
                && (filter.status == .all || (filter.status == .revoked ? revision.revoked : isActive(revision)))
        }
    }

    /// Pricing revisions, newest first, filtered.
    public func pricingRevisions(_ filter: PricingFilter, _ page: PageRequest) throws(PolicyError) -> Page<PricingRevision> {
        try Self.newestFirst(pricingRevisions, page) { revision in
            (filter.scope.map { revision.scope == $0 } ?? true) && (filter.subject.map { revision.subject == $0 } ?? true)
                && (filter.status == .all || (filter.status == .revoked ? revision.revoked : isActive(revision)))
        }
    }

    /// Audit records, newest first, filtered.
    public func history(_ filter: HistoryFilter, _ page: PageRequest) throws(PolicyError) -> Page<HistoryRecord> {
        let firstID = history.first?.id ?? 1
        let before = try page.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeNumber(cursor) } ?? Int.max
        var items: [HistoryRecord] = []
        var position = min(history.count, before - firstID) - 1
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

    /// Revisions with ids 1…n stored at 0…n−1, read newest first after the cursor.
    private static func newestFirst<R: Sendable>(
        _ all: [R], _ page: PageRequest, where matches: (R) -> Bool
    ) throws(PolicyError) -> Page<R> {
        let before = try page.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeNumber(cursor) } ?? Int.max
        var items: [R] = []
        var position = min(all.count, before - 1) - 1
        while position >= 0 {
            let revision = all[position]
            if matches(revision) {
                if items.count == page.limit { return Page(items: items, nextCursor: PageCursor.encode(number: position + 2)) }
                items.append(revision)
            }
            position -= 1
        }
        return Page(items: items, nextCursor: nil)
    }

    static func matches(_ text: String?, _ fields: [String?]) -> Bool {
        guard let text, !text.isEmpty else { return true }
        let needle = text.lowercased()
        return fields.contains { $0?.lowercased().contains(needle) ?? false }
    }
}
