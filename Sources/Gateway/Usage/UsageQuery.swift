/// The cluster's usage as the admin API asks for it (DESIGN.md section 2: usage events stay
/// on the node that served them; cluster views are fan-out queries). `Node` implements it
/// by asking every member over the peer transport and merging the parts with the functions
/// below; the analytics endpoints only read through it.
public protocol UsageQuery: Sendable {
    /// Per-minute sums from every node, grouped and summed.
    func rollups(_ query: RollupQuery) async -> ClusterAnswer<[RollupGroup]>
    /// Events from every node, in the query's order, one page.
    func events(_ query: EventQuery) async -> ClusterAnswer<[StoredUsageEvent]>
}

/// A merged answer and which nodes it holds: a node that did not answer in time is named
/// in `missing`, so a view can say it is incomplete instead of being silently wrong.
public struct ClusterAnswer<Value: Sendable>: Sendable {
    public var value: Value
    public var answered: [UInt64]
    public var missing: [UInt64]

    public init(value: Value, answered: [UInt64], missing: [UInt64]) {
        self.value = value
        self.answered = answered.sorted()
        self.missing = missing.sorted()
    }
}

/// Sums of usage: what a per-minute rollup holds, and what groups of them add up to.
public struct UsageTotals: Codable, Sendable, Equatable {
    public var requests = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var microUSD: Int64 = 0
    public var errors = 0
    public var cacheHits = 0
    /// Requests whose text DLP redacted, and the values it replaced in them.
    public var redacted = 0
    public var redactions = 0
    /// Requests DLP refused, and requests sent with a DLP bypass.
    public var blocked = 0
    public var bypassed = 0

    public init() {}

    /// The largest sum a field reads from a peer's answer or a stored rollup (about 9e15):
    /// far beyond any real usage, and far enough below `Int.max` that adding such sums
    /// cannot overflow either. Every addition saturates as well.
    public static let valueMax = 1 << 53

    public mutating func add(_ event: UsageEvent) {
        requests = requests.saturatingSum(1)
        inputTokens = inputTokens.saturatingSum(event.inputTokens)
        outputTokens = outputTokens.saturatingSum(event.outputTokens)
        microUSD = microUSD.saturatingSum(event.microUSD)
        if event.status >= 400 { errors = errors.saturatingSum(1) }
        if event.cached { cacheHits = cacheHits.saturatingSum(1) }
        if event.redactions > 0 { redacted = redacted.saturatingSum(1) }
        redactions = redactions.saturatingSum(event.redactions)
        if event.dlp?.action == .block { blocked = blocked.saturatingSum(1) }
        if event.dlp?.action == .bypass { bypassed = bypassed.saturatingSum(1) }
    }

    public mutating func add(_ other: UsageTotals) {
        requests = requests.saturatingSum(other.requests)
        inputTokens = inputTokens.saturatingSum(other.inputTokens)
        outputTokens = outputTokens.saturatingSum(other.outputTokens)
        microUSD = microUSD.saturatingSum(other.microUSD)
        errors = errors.saturatingSum(other.errors)
        cacheHits = cacheHits.saturatingSum(other.cacheHits)
        redacted = redacted.saturatingSum(other.redacted)
        redactions = redactions.saturatingSum(other.redactions)
        blocked = blocked.saturatingSum(other.blocked)
        bypassed = bypassed.saturatingSum(other.bypassed)
    }

    private enum CodingKeys: String, CodingKey {
        case requests, inputTokens, outputTokens, microUSD, errors, cacheHits, redacted, redactions, blocked, bypassed
    }

    /// Sums written before a field existed read it as zero; every field is bounded to
    /// 0...`valueMax` (the bytes come from a peer or from disk).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        defer { self.clamp() }
        requests = try c.decodeIfPresent(Int.self, forKey: .requests) ?? 0
        inputTokens = try c.decodeIfPresent(Int.self, forKey: .inputTokens) ?? 0
        outputTokens = try c.decodeIfPresent(Int.self, forKey: .outputTokens) ?? 0
        microUSD = try c.decodeIfPresent(Int64.self, forKey: .microUSD) ?? 0
        errors = try c.decodeIfPresent(Int.self, forKey: .errors) ?? 0
        cacheHits = try c.decodeIfPresent(Int.self, forKey: .cacheHits) ?? 0
        redacted = try c.decodeIfPresent(Int.self, forKey: .redacted) ?? 0
        redactions = try c.decodeIfPresent(Int.self, forKey: .redactions) ?? 0
        blocked = try c.decodeIfPresent(Int.self, forKey: .blocked) ?? 0
        bypassed = try c.decodeIfPresent(Int.self, forKey: .bypassed) ?? 0
    }
}

extension UsageTotals {
    private mutating func clamp() {
        func bounded(_ value: Int) -> Int { min(max(0, value), Self.valueMax) }
        requests = bounded(requests); inputTokens = bounded(inputTokens); outputTokens = bounded(outputTokens)
        microUSD = Int64(bounded(Int(microUSD)))
        errors = bounded(errors); cacheHits = bounded(cacheHits); redacted = bounded(redacted)
        redactions = bounded(redactions); blocked = bounded(blocked); bypassed = bounded(bypassed)
    }
}

extension FixedWidthInteger {
    /// `self + other`, pinned at the type's bounds instead of overflowing.
    func saturatingSum(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

/// How rollups are bucketed in time.
public enum UsageBucket: String, Codable, Sendable {
    /// One bucket for the whole range.
    case all
    case minute
    /// UTC days.
    case day

    /// The start of the bucket `time` (ms since the epoch) falls in.
    public func start(of time: Int64) -> Int64 {
        switch self {
        case .all: 0
        case .minute: Self.floor(time, 60_000)
        case .day: Self.floor(time, 86_400_000)
        }
    }

    static func floor(_ time: Int64, _ size: Int64) -> Int64 { time - ((time % size) + size) % size }
}

/// Rollups from `from` (inclusive) to `to` (exclusive), ms since the epoch, bucketed and
/// grouped by the dimensions asked for (the others are summed over).
public struct RollupQuery: Codable, Sendable, Equatable {
    public var from: Int64
    public var to: Int64
    public var bucket: UsageBucket
    public var byUser: Bool
    public var byModel: Bool
    public var byProvider: Bool

    public init(from: Int64, to: Int64, bucket: UsageBucket = .all, byUser: Bool = false, byModel: Bool = false, byProvider: Bool = false) {
        self.from = from
        self.to = to
        self.bucket = bucket
        self.byUser = byUser
        self.byModel = byModel
        self.byProvider = byProvider
    }
}

/// One group of a rollup answer: the bucket's start, the dimensions grouped by (nil when
/// not), and the sums. `-` stands for "none" (a request without a user, a refusal before
/// any model answered).
public struct RollupGroup: Codable, Sendable, Equatable {
    public var time: Int64
    public var user: String?
    public var model: String?
    public var provider: String?
    public var totals: UsageTotals

    public init(time: Int64, user: String?, model: String?, provider: String?, totals: UsageTotals) {
        self.time = time
        self.user = user
        self.model = model
        self.provider = provider
        self.totals = totals
    }

    private struct Key: Hashable {
        var time: Int64, user: String?, model: String?, provider: String?
    }

    /// Per-minute sums of one node (time, user, model, provider) folded into `query`'s groups.
    public static func group(
        _ minutes: some Sequence<(minute: Int64, user: String, model: String, provider: String, totals: UsageTotals)>, by query: RollupQuery
    ) -> [RollupGroup] {
        var groups: [Key: UsageTotals] = [:]
        for row in minutes where row.minute + 60_000 > query.from && row.minute < query.to {
            let key = Key(time: query.bucket.start(of: row.minute), user: query.byUser ? row.user : nil,
                          model: query.byModel ? row.model : nil, provider: query.byProvider ? row.provider : nil)
            groups[key, default: UsageTotals()].add(row.totals)
        }
        return sorted(groups)
    }

    /// The groups of several nodes' answers, summed where they share a key.
    public static func merge(_ parts: [[RollupGroup]]) -> [RollupGroup] {
        var groups: [Key: UsageTotals] = [:]
        for part in parts {
            for group in part { groups[Key(time: group.time, user: group.user, model: group.model, provider: group.provider), default: UsageTotals()].add(group.totals) }
        }
        return sorted(groups)
    }

    private static func sorted(_ groups: [Key: UsageTotals]) -> [RollupGroup] {
        groups.map { RollupGroup(time: $0.key.time, user: $0.key.user, model: $0.key.model, provider: $0.key.provider, totals: $0.value) }
            .sorted { ($0.time, $0.user ?? "", $0.model ?? "", $0.provider ?? "") < ($1.time, $1.user ?? "", $1.model ?? "", $1.provider ?? "") }
    }
}
