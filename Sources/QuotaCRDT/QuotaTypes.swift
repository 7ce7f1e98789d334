/// Who a quota applies to.
public enum Lane: String, CaseIterable, Sendable, Codable {
    case token, key, principal, user, app, org
}

/// A quota's identity: a lane, a subject on it (`user:alice`, `key:openai:prod` …) and a name.
public struct QuotaID: Hashable, Sendable, CustomStringConvertible {
    public var lane: Lane
    public var subject: String
    public var name: String

    public init(lane: Lane, subject: String, name: String) {
        self.lane = lane
        self.subject = subject
        self.name = name
    }

    public var description: String { "\(lane):\(subject)/\(name)" }
}

/// The active revision of a quota, as the admission sees it.
public struct QuotaSpec: Hashable, Sendable {
    public var id: QuotaID
    public var period: Period
    public var caps: Caps

    public init(id: QuotaID, period: Period, caps: Caps) {
        self.id = id
        self.period = period
        self.caps = caps
    }
}

/// One window of one quota: what the CRDT state is kept under. A new revision of the
/// quota keeps the key, so it changes the running window's cap without resetting usage.
public struct WindowKey: Hashable, Sendable, CustomStringConvertible {
    public var quota: QuotaID
    public var period: Period
    public var start: Int64

    public init(quota: QuotaID, period: Period, start: Int64) {
        self.quota = quota
        self.period = period
        self.start = start
    }

    public var description: String { "\(quota) \(period.rawValue)@\(start)" }
}

/// Why a reservation was refused: which quota, which window, what cap and usage.
public struct QuotaRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var quota: QuotaID
    public var period: Period
    public var caps: Caps
    /// Usage this node knows of in the window (all members' settled usage plus its own
    /// reservations), before the refused request.
    public var used: Usage
    /// When the window resets, in ms since the epoch; nil for the infinite window.
    public var resetsAt: Int64?
    /// The start of the refusing window (with `quota` and `period`, its key).
    public var windowStart: Int64
    /// The unit that would be exceeded: `requests`, `tokens` or `micro_usd`.
    public var unit: String

    /// The refusing window.
    public var window: WindowKey { WindowKey(quota: quota, period: period, start: windowStart) }

    /// The usage known here and the cap, in the unit that refuses.
    public var inRefusingUnit: (used: Int64, cap: Int64?) {
        switch unit {
        case "requests": (used.requests, caps.requests)
        case "tokens": (used.tokens, caps.tokens)
        default: (used.microUSD, caps.microUSD)
        }
    }


    public var description: String {
        let reset = resetsAt.map { "resets at \($0) ms" } ?? "never resets"
        return "quota \(quota) (\(period.rawValue)) is exhausted in \(unit): used \(used), caps \(caps); \(reset)"
    }
}

/// A handle on a reservation, to settle or cancel it exactly once.
public struct ReservationID: Hashable, Sendable {
    public let rawValue: UInt64
}
