import Foundation
import Gateway
import Logging
import Metrics
import QuotaCRDT
import Storage
import Synchronization
import Transport

/// The node's quota gate (DESIGN.md section 4): the ledger of the live windows in memory
/// behind one lock, the rights it asks peers for and grants them, gossip of the windows'
/// state, and this node's durable records.
///
/// Admission (`tryReserve`) takes the lock once and does no I/O. When it refuses only
/// for lack of rights a peer may still have, or of a durable mark being written,
/// `reserve` asks and waits, up to `rightsWaitMilliseconds`.
public final class QuotaService: QuotaGate, Sendable {
    struct State {
        var ledger: QuotaLedger
        /// The current voting members: the split of windows no schedule entry covers yet.
        var members: [UInt64]
        /// The replicated split of windows by their start.
        var schedule = MembershipSchedule()
        /// The ledger's generation when each peer was last sent the changes.
        var sentGeneration: [UInt64: UInt64] = [:]
        /// When rights were last asked for, per window (ms): for waiting requests, and to top up.
        var askedAt: [WindowKey: Int64] = [:]
        var toppedUpAt: [WindowKey: Int64] = [:]
        /// Expired windows whose records are still to delete.
        var expired: [WindowKey] = []
        /// What requests waiting for rights need, per window, and until when (ms): kept
        /// back from peers with higher ids that ask (see `QuotaLedger.grantRights`).
        var needs: [WindowKey: (amount: Usage, until: Int64)] = [:]
        /// Requests for the pool not yet proposed, and the windows with one under way.
        var pendingAllocations: [QuotaPool.Request] = []
        var allocating: Set<WindowKey> = []
        /// Proposes allocation requests through the Raft log; returns false when it could not.
        var allocator: (@Sendable ([QuotaPool.Request]) async -> Bool)?
        /// The fence of windows whose records were unreadable at start.
        var lostFence = QuotaFence()
        /// When this data directory began a new life under an id that may have had an
        /// earlier one (ms); nil once reviewed and found new (QuotaService+Rebirth).
        var rebornAt: Int64?
        /// The review could not be stored: the whole rebirth fence stays until the next
        /// start reviews again.
        var rebirthReviewFailed = false
    }

    let nodeID: UInt64
    let configuration: QuotaConfiguration
    let state: Mutex<State>
    let transport: PeerTransport
    let store: QuotaStore?
    let changes = ChangeSignal()
    let logger: Logger
    let now: @Sendable () -> Int64
    let metrics: QuotaMetrics
    let persistKicksStream: AsyncStream<Void>
    let persistKick: AsyncStream<Void>.Continuation
    let topUpKicksStream: AsyncStream<Void>
    let topUpKick: AsyncStream<Void>.Continuation
    let allocationKicksStream: AsyncStream<Void>
    let allocationKick: AsyncStream<Void>.Continuation

    /// The message types the service handles, for the router.
    public static let messageTypes: Set<MessageType> = [.quotaGossip, .quotaRightsRequest]

    /// A service for node `nodeID` over `transport`. With a `database`, its records are
    /// loaded from and written to the `quota` column family and admission stays under the
    /// durable marks; without one, nothing survives a restart (tests, benchmarks).
    /// `now` gives wall-clock milliseconds since the epoch (windows are calendar-aligned).
    public init(
        nodeID: UInt64, members: [UInt64], transport: PeerTransport, database: Database?,
        configuration: QuotaConfiguration = QuotaConfiguration(), logger: Logger,
        now: @escaping @Sendable () -> Int64 = QuotaService.wallClockMilliseconds
    ) throws {
        self.nodeID = nodeID
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        // Never backwards: a node whose clock steps back must not return to a window it
        // has already dropped (with its records), where the pool may still allocate.
        let latest = Atomic<Int64>(.min)
        self.now = {
            let time = now()
            let (_, seen) = latest.max(time, ordering: .relaxed)
            return seen
        }
        metrics = QuotaMetrics(nodeID: nodeID)
        var ledger = QuotaLedger(member: nodeID, tracksDurability: database != nil)
        var lostFence = QuotaFence(), rebornAt: Int64?
        if let database {
            let store = QuotaStore(database: database, nodeID: nodeID)
            let (records, fence, unreadable) = try store.load(now: now())
            lostFence = fence
            rebornAt = try store.loadRebirth()
            ledger.fence(Self.fence(lost: fence, rebornAt: rebornAt))
            if let rebornAt {
                logger.notice("a new data directory: quota windows begun before it are fenced until this node has caught up and looked for an earlier life of its id",
                              metadata: ["reborn_ms": "\(rebornAt)"])
            }
            for record in records { ledger.restore(record) }
            if unreadable > 0 {
                logger.error(
                    "unreadable quota records: this node admits nothing in their windows until they end (fail closed); other nodes still serve them (docs/quotas.md, \"A lost record fails closed\")",
                    metadata: ["count": "\(unreadable)", "fenced_windows": "\(fence.keys.count)",
                               "fenced_started_before_ms": "\(fence.startedBefore.map(String.init) ?? "-")"])
            } else if !fence.isEmpty {
                logger.warning("quota windows fenced since an earlier start lost their records", metadata: [
                    "fenced_windows": "\(fence.keys.count)", "fenced_started_before_ms": "\(fence.startedBefore.map(String.init) ?? "-")"])
            }
            if !records.isEmpty { logger.info("restored quota records", metadata: ["windows": "\(records.count)"]) }
            self.store = store
        } else {
            self.store = nil
        }
        state = Mutex(State(ledger: ledger, members: members.sorted(), lostFence: lostFence, rebornAt: rebornAt))
        (persistKicksStream, persistKick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (topUpKicksStream, topUpKick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (allocationKicksStream, allocationKick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Milliseconds since the epoch, from the system clock.
    public static let wallClockMilliseconds: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Sets the current voting members: windows that no schedule entry covers yet are
    /// split over them.
    public func setMembers(_ voters: [UInt64]) {
        state.withLock { $0.members = voters.sorted() }
    }

    /// How windows starting at a given instant split, on this node: by the replicated
    /// schedule; before it has an entry, over the pool on a node that can ask the pool (a
    /// node of a cluster), over the current voters otherwise (a service without Raft).
    static func split(_ s: State) -> (Int64) -> [UInt64] {
        let (schedule, fallback) = (s.schedule, s.allocator != nil ? [QuotaLedger.poolMember] : s.members)
        return { schedule.voters(at: $0) ?? fallback }
    }

    /// Sets how allocation requests for pooled windows reach the Raft log (a node without
    /// one never gets rights from a pool).
    public func setAllocator(_ allocator: @escaping @Sendable ([QuotaPool.Request]) async -> Bool) {
        state.withLock { $0.allocator = allocator }
    }

    /// Applies allocations committed in the Raft log (`QuotaPool`) and wakes the requests
    /// waiting for them.
    public func applyAllocations(_ updates: [WindowUpdate]) { merge(updates, from: nodeID) }

    /// Sets the replicated schedule of splits (from the Raft log).
    public func setSchedule(_ schedule: MembershipSchedule) {
        state.withLock { $0.schedule = schedule }
    }

    // MARK: The gate

    /// One admission attempt, without waiting: one lock, no I/O.
    public func tryReserve(_ estimate: Usage, against quotas: [QuotaSpec]) -> Result<ReservationID, QuotaRefusal> {
        let time = now()
        let (result, markDue, topUpDue) = state.withLock { s in
            let split = Self.split(s)
            let result = s.ledger.reserve(estimate, against: quotas, now: time, membersAt: split)
            defer { s.ledger.durabilityWanted = false }
            if case .success = result { metrics.openReservations.record(s.ledger.openReservations) }
            return (result, s.ledger.durabilityWanted, s.ledger.hasTopUps)
        }
        if markDue { persistKick.yield() }
        if topUpDue { topUpKick.yield() }
        return result
    }

    public func reserve(_ estimate: Usage, against quotas: [QuotaSpec]) async -> Result<ReservationID, QuotaRefusal> {
        let wait = Duration.milliseconds(configuration.rightsWaitMilliseconds)
        var deadline = ContinuousClock.now.advanced(by: wait)
        var waited = false
        var waitingIn: WindowKey?
        var restarted = false, extended = false
        var retries = 0
        while true {
            let seen = changes.generation
            let result = tryReserve(estimate, against: quotas)
            guard case let .failure(refusal) = result else {
                metrics.admitted.increment()
                return result
            }
            // A wait that ran into the next window of the same quota starts over there, once:
            // the new window's rights are asked for only now.
            if let last = waitingIn, !restarted, refusal.window.quota == last.quota, refusal.window.period == last.period,
               refusal.window.start > last.start {
                deadline = ContinuousClock.now.advanced(by: wait)
                restarted = true
            }
            waitingIn = refusal.window
            // An allocation for this window under way in the log is waited for once more:
            // a commit slower than the wait (a loaded disk) must not refuse the first
            // requests of a window that has rights to give.
            if !extended, ContinuousClock.now >= deadline, allocationUnderWay(refusal.window) {
                deadline = ContinuousClock.now.advanced(by: wait)
                extended = true
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            let next: WaitDecision = remaining > .zero ? prepareToWait(for: refusal, estimate: estimate, against: quotas) : .refuse
            switch next {
            case .retry where retries < Self.staleRefusalRetriesMax:
                retries += 1
                await Task.yield()
            case .refuse, .retry:
                metrics.refused.increment()
                if waited { metrics.refusedAfterWaiting.increment() }
                return result
            case .wait:
                waited = true
                await changes.wait(past: seen, timeout: remaining)
            }
        }
    }

    /// Times at most that one request tries again at once because the refusal it met was
    /// already stale (the window admits it now). A bound, not a tuning knob: each retry
    /// needs a settle, cancel or allocation to land between two locks.
    static let staleRefusalRetriesMax = 8

    /// What a refused request does next.
    enum WaitDecision { case refuse, wait, retry }

    /// True while an allocation request for `key` waits to be proposed or to commit.
    private func allocationUnderWay(_ key: WindowKey) -> Bool {
        state.withLock { s in s.allocating.contains(key) || s.pendingAllocations.contains { $0.key == key } }
    }

    @discardableResult
    public func settle(_ reservation: ReservationID, actual: Usage) -> Bool {
        let settled = state.withLock { s in
            defer { s.ledger.durabilityWanted = false }
            let settled = s.ledger.settle(reservation, actual: actual)
            if settled { metrics.openReservations.record(s.ledger.openReservations) }
            return (settled, s.ledger.durabilityWanted)
        }
        if settled.1 { persistKick.yield() }
        // Usage below the estimate releases rights a waiting request may fit in.
        if settled.0 && changes.hasWaiters { changes.fire() }
        return settled.0
    }

    @discardableResult
    public func cancel(_ reservation: ReservationID) -> Bool {
        let cancelled = state.withLock { s in
            let cancelled = s.ledger.cancel(reservation)
            if cancelled { metrics.openReservations.record(s.ledger.openReservations) }
            return cancelled
        }
        // Released rights may let a waiting request in.
        if cancelled && changes.hasWaiters { changes.fire() }
        return cancelled
    }

    public func rateLimits(of reservation: ReservationID) -> RateLimits {
        state.withLock { $0.ledger.rateLimits(of: reservation) }
    }

    /// Decides what a refused request does: try again when the window admits it by now (the
    /// refusal went stale between two locks), wait when a durable mark is being written or
    /// when peers or the pool may hold the rights it lacks (then they are asked), else refuse.
    /// Every other window of the request that lacks rights is asked for at the same time,
    /// not one refusal after another (`QuotaLedger.lackingWindows`).
    private func prepareToWait(for refusal: QuotaRefusal, estimate: Usage, against quotas: [QuotaSpec]) -> WaitDecision {
        let key = refusal.window
        let time = now()
        enum Next { case refuse, retry, wait([RightsAsk], persist: Bool) }
        let next = state.withLock { s -> Next in
            if s.ledger.admits(estimate, in: key) { return .retry }
            var asks: [RightsAsk] = []
            let durable = s.ledger.awaitsDurability(in: key, for: estimate)
            if !durable {
                let shortfall = s.ledger.shortfall(in: key, for: estimate)
                guard shortfall != .zero, !s.ledger.isSpent(key, for: estimate) else {
                    if Self.isWellBelowCap(refusal) { logRefusalBelowCap(refusal, shortfall: shortfall, s) }
                    return .refuse
                }
                if let ask = askWhileWaiting(key, shortfall, for: estimate, at: time, &s) { asks.append(ask) }
            }
            let others = s.ledger.lackingWindows(for: estimate, against: quotas, now: time, skipping: key, membersAt: Self.split(s))
            for (other, lacking) in others where !s.ledger.isSpent(other, for: estimate) {
                if let ask = askWhileWaiting(other, lacking, for: estimate, at: time, &s) { asks.append(ask) }
            }
            return .wait(asks, persist: durable || asks.isEmpty)
        }
        switch next {
        case .refuse: return .refuse
        case .retry: return .retry
        case let .wait(asks, persist):
            if persist { persistKick.yield() }
            asks.forEach(send)
            return .wait
        }
    }

    /// Notes that a request waits for `shortfall` in `key` (what this node keeps back when
    /// a peer asks) and asks for it, unless asked moments ago.
    private func askWhileWaiting(_ key: WindowKey, _ shortfall: Usage, for estimate: Usage, at time: Int64, _ s: inout State) -> RightsAsk? {
        let until = time + Int64(configuration.rightsWaitMilliseconds)
        let need = s.needs[key].map { $0.until > time ? $0.amount.joined(with: estimate) : estimate } ?? estimate
        s.needs[key] = (need, until)
        return askIfDue(key, shortfall, .urgent, at: time, &s)
    }

    /// True when the refusing window's known usage is under 90 % of its cap in the unit
    /// that refused: the rights exist somewhere this node cannot reach or see.
    static func isWellBelowCap(_ refusal: QuotaRefusal) -> Bool {
        let (used, cap) = refusal.inRefusingUnit
        guard let cap, cap >= 10 else { return false }
        return used < cap / 10 * 9
    }

    /// A refusal without waiting while the window is well below its cap: what the node
    /// knew, for whoever investigates (it should not happen while a pool has rights).
    private func logRefusalBelowCap(_ refusal: QuotaRefusal, shortfall: Usage, _ s: State) {
        let key = refusal.window
        logger.notice("refused well below the cap without asking anyone", metadata: [
            "window": "\(key)", "unit": "\(refusal.unit)", "used": "\(refusal.used)", "shortfall": "\(shortfall)",
            "rights": "\(s.ledger.rights(in: key))", "pool_left": "\(s.ledger.poolRemaining(in: key))",
            "spare_elsewhere": "\(s.ledger.spareElsewhere(in: key))", "state": "\(String(describing: s.ledger.update(for: key)))",
        ])
    }

    // MARK: Views

    /// All members' settled usage in a window, as this node knows it.
    public func usage(in key: WindowKey) -> Usage { state.withLock { $0.ledger.usage(in: key) } }
}

/// The quota service's Prometheus counters.
struct QuotaMetrics {
    let admitted: Counter
    let refused: Counter
    let refusedAfterWaiting: Counter
    let rightsRequests: Counter
    let grantsGiven: Counter
    let memberSplitConflicts: Counter
    let persistFailures: Counter
    let allocationRequests: Counter
    let allocationFailures: Counter
    /// Reservations admitted and not yet settled or cancelled: back at 0 whenever the node
    /// is idle, or a path forgot to end one.
    let openReservations: Gauge

    init(nodeID: UInt64) {
        let node = [("node", "\(nodeID)")]
        admitted = Counter(label: "weir_quota_admitted_total", dimensions: node)
        refused = Counter(label: "weir_quota_refused_total", dimensions: node)
        refusedAfterWaiting = Counter(label: "weir_quota_refused_after_waiting_total", dimensions: node)
        rightsRequests = Counter(label: "weir_quota_rights_requests_total", dimensions: node)
        grantsGiven = Counter(label: "weir_quota_grants_given_total", dimensions: node)
        memberSplitConflicts = Counter(label: "weir_quota_member_split_conflicts_total", dimensions: node)
        persistFailures = Counter(label: "weir_quota_persist_failures_total", dimensions: node)
        allocationRequests = Counter(label: "weir_quota_allocation_requests_total", dimensions: node)
        allocationFailures = Counter(label: "weir_quota_allocation_failures_total", dimensions: node)
        openReservations = Gauge(label: "weir_quota_open_reservations", dimensions: node)
        openReservations.record(0)
    }
}
