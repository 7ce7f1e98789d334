/// An event as a node keeps it: the node that served the request and the event's sequence
/// number there name it uniquely across the cluster (`request` in the views).
public struct StoredUsageEvent: Codable, Sendable, Equatable {
    public var node: UInt64
    public var sequence: UInt64
    public var event: UsageEvent

    public init(node: UInt64, sequence: UInt64, event: UsageEvent) {
        self.node = node
        self.sequence = sequence
        self.event = event
    }

    /// Its place in the cluster-wide order: time, then node, then sequence.
    public var position: EventPosition { EventPosition(time: event.time, node: node, sequence: sequence) }

    /// Its id in the views: `n<node>-<sequence>`.
    public var requestID: String { "n\(node)-\(sequence)" }

    /// Several nodes' pages (each in `order`, each the first events after the same cursor)
    /// merged into the cluster's page: the first `limit` in `order`.
    public static func merge(_ parts: [[StoredUsageEvent]], order: EventQuery.Order, limit: Int) -> [StoredUsageEvent] {
        let all = parts.joined().sorted { order == .oldestFirst ? $0.position < $1.position : $1.position < $0.position }
        return Array(all.prefix(limit))
    }
}

/// A place in the cluster-wide order of events; also the page cursor (`time.node.sequence`).
public struct EventPosition: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var time: Int64
    public var node: UInt64
    public var sequence: UInt64

    public init(time: Int64, node: UInt64, sequence: UInt64) {
        self.time = time
        self.node = node
        self.sequence = sequence
    }

    /// The latest time a position may name, in ms since the epoch (the end of year 9999):
    /// a cursor is client input, and arithmetic on its time must stay far from overflow.
    public static let timeMax: Int64 = 253_402_300_799_999

    /// The position a cursor names, nil when it is not one this API could have given.
    public init?(cursor: String) {
        let parts = cursor.split(separator: ".")
        guard cursor.utf8.count <= 64, parts.count == 3, let time = Int64(parts[0]), (0...Self.timeMax).contains(time),
              let node = UInt64(parts[1]), let sequence = UInt64(parts[2]) else { return nil }
        self.init(time: time, node: node, sequence: sequence)
    }

    public var description: String { "\(time).\(node).\(sequence)" }

    public static func < (a: EventPosition, b: EventPosition) -> Bool { (a.time, a.node, a.sequence) < (b.time, b.node, b.sequence) }
}

/// Events from `from` (inclusive) to `to` (exclusive), ms since the epoch, that pass every
/// filter given, in `order`, strictly after `after` in that order, at most `limit`.
public struct EventQuery: Codable, Sendable, Equatable {
    public enum Order: String, Codable, Sendable { case newestFirst, oldestFirst }
    /// Which events count.
    public enum Kind: String, Codable, Sendable {
        case all
        /// The caller got a status of 400 or more.
        case errors
        /// DLP redacted, blocked or was bypassed.
        case dlp
    }

    public var from: Int64
    public var to: Int64
    public var order: Order
    public var after: EventPosition?
    public var limit: Int
    public var kind: Kind
    public var user: String?
    public var token: String?
    public var model: String?

    /// Events a page holds at most.
    public static let limitMax = 1000

    public init(
        from: Int64, to: Int64, order: Order = .newestFirst, after: EventPosition? = nil, limit: Int = 50, kind: Kind = .all,
        user: String? = nil, token: String? = nil, model: String? = nil
    ) {
        self.from = from
        self.to = to
        self.order = order
        self.after = after
        self.limit = min(max(limit, 0), Self.limitMax)
        self.kind = kind
        self.user = user
        self.token = token
        self.model = model
    }

    /// True when `event` at `position` belongs in the answer (the cursor included).
    public func matches(_ event: UsageEvent, at position: EventPosition) -> Bool {
        guard event.time >= from, event.time < to else { return false }
        if let after {
            guard order == .oldestFirst ? after < position : position < after else { return false }
        }
        if let user, event.user != user { return false }
        if let token, event.token != token { return false }
        if let model, event.model != model && event.requestedModel != model { return false }
        switch kind {
        case .all: return true
        case .errors: return event.status >= 400
        case .dlp: return event.dlp != nil
        }
    }
}
