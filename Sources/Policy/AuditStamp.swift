/// Who changed something, when and why: every entity and revision carries one for its
/// creation and its latest change. `at` is the leader's clock when the change entered the
/// log (ms since the Unix epoch), never the clock of the node that received the request.
public struct AuditStamp: Codable, Equatable, Hashable, Sendable {
    /// The principal whose token authorized the change (`human:admin`, `service:ci` …).
    public var actor: String
    /// Milliseconds since the Unix epoch, assigned by the leader; never decreases along the log.
    public var at: Int64
    /// The free-text reason the admin gave, if any.
    public var reason: String?
    /// The Raft index of the entry that made the change.
    public var index: UInt64

    public init(actor: String, at: Int64, reason: String? = nil, index: UInt64) {
        self.actor = actor
        self.at = at
        self.reason = reason
        self.index = index
    }
}

/// A record that has an id and creation and update stamps: what the policy tables hold.
public protocol PolicyRecord: Codable, Equatable, Sendable {
    /// The record's id, unique in its table; tables are ordered by it.
    var id: String { get }
    /// When and by whom it was created (kept across updates).
    var created: AuditStamp { get set }
    /// When and by whom it last changed.
    var updated: AuditStamp { get set }
    /// The fields a text search (`q`) looks in; none unless the table is searchable.
    var searchFields: [String?] { get }
    /// Exact (field, value) pairs the table indexes for filters; none by default.
    var indexedFields: [(String, String)] { get }
}
