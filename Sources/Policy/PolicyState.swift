/// The replicated policy: every table, the append-only revisions and the audit history,
/// with the indexes the request path reads. Pure: `apply` takes the entry's time and
/// index as arguments, so every node that applies the same log holds the same state.
public struct PolicyState: Equatable, Sendable {
    /// Audit records kept; the oldest tenth is dropped when the history outgrows it.
    public static let historyRecordsMax = 1_000_000

    public internal(set) var users = RecordTable<User>()
    public internal(set) var organizations = RecordTable<Organization>()
    public internal(set) var applications = RecordTable<Application>()
    public internal(set) var principals = RecordTable<Principal>()
    public internal(set) var tokens = RecordTable<ClientToken>()
    public internal(set) var credentials = RecordTable<Credential>()
    public internal(set) var deployments = RecordTable<Deployment>()
    public internal(set) var aliases = RecordTable<Alias>()
    public internal(set) var fallbacks = RecordTable<FallbackChain>()
    public internal(set) var profiles = RecordTable<ModelProfile>()
    public internal(set) var dlpPolicies = RecordTable<DLPPolicy>()
    public internal(set) var settings = GatewaySettings()
    /// Every quota revision, in order: `quotaRevisions[i].id == i + 1`.
    public internal(set) var quotaRevisions: [QuotaRevision] = []
    /// Every pricing revision, in order: `pricingRevisions[i].id == i + 1`.
    public internal(set) var pricingRevisions: [PricingRevision] = []
    /// The audit trail, oldest first (ids keep counting after trimming).
    public internal(set) var history: [HistoryRecord] = []
    var historyNextID = 1
    /// Whether the first super-admin token was created.
    public internal(set) var bootstrapped = false
    /// The time of the last applied entry: entry times never go backwards.
    public internal(set) var lastAppliedAt: Int64 = 0

    // Indexes, rebuilt from the tables on restore.
    /// Token id by secret hash.
    var tokenIDByHash: [String: String] = [:]
    /// The latest revision (an index into `quotaRevisions`) of each quota.
    var latestQuota: [QuotaKey: Int] = [:]
    /// The names of each subject's quotas with a latest revision, by lane and subject.
    var quotaNamesBySubject: [QuotaSubject: Set<String>] = [:]
    /// The latest revision (an index into `pricingRevisions`) of each priced subject.
    var latestPrice: [PriceKey: Int] = [:]
    /// Positions in `quotaRevisions`, ascending, by lane, subject and folded name.
    var quotaPositions = RevisionIndex()
    /// Positions in `pricingRevisions`, ascending, by scope and subject.
    var pricingPositions = RevisionIndex()

    public init() {}

    struct QuotaSubject: Hashable, Sendable {
        var lane: QuotaLane
        var subject: String
    }

    struct QuotaKey: Hashable, Sendable {
        var lane: QuotaLane
        var subject: String
        var name: String
    }

    struct PriceKey: Hashable, Sendable {
        var scope: PricingScope
        var subject: String
    }

    /// Applies `entry`, made at the leader's `time` (ms) and committed at `index`. A
    /// refused command changes nothing but the clock.
    public mutating func apply(_ entry: PolicyEntry, time: Int64, index: UInt64) -> Result<PolicyOutcome, PolicyError> {
        lastAppliedAt = max(lastAppliedAt, time)
        let stamp = AuditStamp(actor: entry.actor, at: lastAppliedAt, reason: entry.reason, index: index)
        do throws(PolicyError) {
            let (outcome, action, summary) = try execute(entry.command, stamp: stamp)
            record(action: action, subject: outcome.id, summary: summary, stamp: stamp)
            return .success(outcome)
        } catch {
            return .failure(error)
        }
    }

    private mutating func record(action: String, subject: String, summary: String, stamp: AuditStamp) {
        history.append(HistoryRecord(id: historyNextID, action: action, subject: subject, summary: summary, stamp: stamp))
        historyNextID += 1
        if history.count > Self.historyRecordsMax { history.removeFirst(Self.historyRecordsMax / 10) }
    }
}
