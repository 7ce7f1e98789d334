import QuotaCRDT

extension QuotaSimulator {
    static let stepMilliseconds: Int64 = 10
    static let gossipEveryMilliseconds: Int64 = 50
    static let antiEntropyEveryMilliseconds: Int64 = 3_000
    /// How long an arriving request may wait for rights from peers before it is refused.
    static let rightsWaitMilliseconds: Int64 = 250

    func step() {
        now += Self.stepMilliseconds
        if faultsOn { injectFaults() }
        if faultsOn && limits.pooled { injectPoolFaults() }
        if limits.pooled {
            if now % Self.prefetchEveryMilliseconds == 0 { prefetchAllocations() }
            commitAllocations()
            applyAllocations()
        }
        if faultsOn { arrive() }
        admitPending()
        settleDue()
        if now % Self.gossipEveryMilliseconds == 0 { gossip(full: now % Self.antiEntropyEveryMilliseconds == 0) }
        deliver()
        if now % 1_000 == 0 {
            for id in nodes.keys.sorted() {
                // The node deletes the records of the windows it drops.
                for key in nodes[id]!.ledger.expire(now: now, graceMilliseconds: 120_000) {
                    stored[id]?[key] = nil
                    windowsExpired += 1
                }
            }
        }
    }

    // MARK: Load

    private func arrive() {
        let live = nodes.keys.filter { !leaving.contains($0) && !isPaused($0) }.sorted()
        guard !live.isEmpty else { return }
        let expected = Double(profile.requestsPerSecond) * Double(Self.stepMilliseconds) / 1000
        var count = Int(expected)
        if Double.random(in: 0..<1, using: &random) < expected - Double(count) { count += 1 }
        for _ in 0..<count {
            let target = profile.skewed && Int.random(in: 0..<10, using: &random) < 7 ? live[0] : live.randomElement(using: &random)!
            let tokens = Int64.random(in: 100...2_000, using: &random)
            let estimate = Usage(requests: 1, tokens: tokens, microUSD: tokens * 2)
            var actualTokens = Int64.random(in: tokens / 2...tokens, using: &random)
            if chance(profile.overEstimatePerMille) { actualTokens = tokens + tokens / 2 }
            let actual = Usage(requests: 1, tokens: actualTokens, microUSD: actualTokens * 2)
            pending[target, default: []].append(PendingRequest(estimate: estimate, actual: actual, deadline: now + Self.rightsWaitMilliseconds))
        }
    }

    /// Tries the waiting requests of every node. A request already refused once is tried
    /// again only when the node's state changed since (a merge, settle or grant), at its
    /// deadline, or to re-ask for rights; the outcome is the same, and runs are faster.
    private func admitPending() {
        for id in pending.keys.sorted() {
            guard nodes[id] != nil else { pending[id] = nil; continue }
            if isPaused(id) { continue }
            // Every window's start is a multiple of 10 s, on this node's clock.
            let windowTurned = clock(of: id) % 10_000 < Self.stepMilliseconds
            let changed = nodes[id]!.changed || windowTurned
            nodes[id]!.changed = false
            var waiting: [PendingRequest] = []
            for var request in pending[id]! {
                if let refusal = request.lastRefusal, !changed, now < request.deadline {
                    askForRights(refusal, request.estimate, on: id)
                    waiting.append(request)
                    continue
                }
                switch reserve(request.estimate, on: id) {
                case let .success(reservation):
                    admit(reservation, request, on: id)
                case let .failure(refusal):
                    // As on the node (`QuotaService.reserve`): a wait that ran into the next
                    // window of the same quota starts over there, once. (Any change of the
                    // refusing window used to restart it, so a request refused in turn by
                    // two quotas could wait for ever, longer than the node lets it.)
                    if let last = request.lastRefusal, !request.restarted, last.quota == refusal.quota,
                       last.period == refusal.period, refusal.windowStart > last.windowStart {
                        request.deadline = now + Self.rightsWaitMilliseconds
                        request.restarted = true
                    }
                    // As on the node: an allocation for the window under way in the log is
                    // waited for once more.
                    if now >= request.deadline, !request.extended, allocationUnderWay(refusal.window, on: id) {
                        request.deadline = now + Self.rightsWaitMilliseconds
                        request.extended = true
                    }
                    if now >= request.deadline {
                        refuse(refusal, request, on: id)
                    } else {
                        askForRights(refusal, request.estimate, on: id)
                        request.lastRefusal = refusal
                        waiting.append(request)
                    }
                }
            }
            pending[id] = waiting
        }
    }

    /// The ledger's `reserve`, as the node's gate runs it: a refusal that only waits for a
    /// higher durable mark writes the records and tries again (a failed write refuses).
    private func reserve(_ estimate: Usage, on id: UInt64) -> Result<ReservationID, QuotaRefusal> {
        let (schedule, current) = (self.schedule, members)
        let membersAt = { (start: Int64) in schedule.voters(at: start) ?? current }
        // As on the node, where each written mark wakes the request to try again: one
        // write per window whose mark it waits for, at most one per quota.
        var outcome = nodes[id]!.ledger.reserve(estimate, against: specs, now: clock(of: id), membersAt: membersAt)
        for _ in specs.indices {
            guard case let .failure(refusal) = outcome, nodes[id]!.ledger.awaitsDurability(in: refusal.window, for: estimate), persist(id) else {
                return outcome
            }
            outcome = nodes[id]!.ledger.reserve(estimate, against: specs, now: clock(of: id), membersAt: membersAt)
        }
        return outcome
    }

    /// Writes `id`'s due records (and those of `including`) as the node's quota store
    /// does: one synced batch that may fail, in which case nothing is confirmed. Returns
    /// whether the write went through.
    func persist(_ id: UInt64, including: Set<WindowKey> = []) -> Bool {
        nodes[id]!.ledger.durabilityWanted = false
        let records = nodes[id]!.ledger.recordsToPersist(including: including)
        guard !records.isEmpty else { return true }
        if faultsOn && profile.writeFailPerMille > 0 && chance(profile.writeFailPerMille) {
            writeFailures += 1
            return false
        }
        for record in records { stored[id, default: [:]][record.key] = record }
        nodes[id]!.ledger.confirmDurable(records)
        return true
    }

    private func admit(_ reservation: ReservationID, _ request: PendingRequest, on id: UInt64) {
        admitted += 1
        var keys: [WindowKey] = []
        for spec in specs {
            let key = WindowKey(quota: spec.id, period: spec.period, start: spec.period.window(containing: clock(of: id)).start)
            keys.append(key)
            truth[key, default: .zero] += request.estimate
            admittedBy[key, default: [:]][id, default: .zero] += request.estimate
            let allowed = spec.caps.asCheckable + (excess[key] ?? .zero)
            let over = Self.largestExcess(truth[key]!, allowed, spec.caps)
            if over > 0 { violate("window \(key): admitted \(truth[key]!) exceeds the cap \(spec.caps) by \(over) (node \(id))") }
        }
        // Marks rise ahead of use: the next one is written once half a chunk is left.
        if nodes[id]!.ledger.durabilityWanted { _ = persist(id) }
        // Top up before running dry, as the node does: ask peers while the headroom of
        // the latest estimates would not fit.
        for (key, shortfall) in nodes[id]!.ledger.takeTopUps() { requestRights(key, shortfall, on: id, kind: .topUp) }
        let settleAt = now + Int64.random(in: 0...300, using: &random)
        nodes[id]!.open.append((reservation, request.estimate, request.actual, settleAt, keys))
    }

    private func refuse(_ refusal: QuotaRefusal, _ request: PendingRequest, on id: UInt64) {
        refused += 1
        let spec = specs.first { $0.id == refusal.quota }!
        let key = WindowKey(quota: spec.id, period: spec.period, start: spec.period.window(containing: clock(of: id)).start)
        if firstRefusal[key] == nil {
            firstRefusal[key] = (truth[key] ?? .zero) + request.estimate
            if limits.pooled { strandedMax = max(strandedMax, strandedPercent(in: key)) }
        }
    }

    private func settleDue() {
        for id in nodes.keys.sorted() where !isPaused(id) {
            var open: [(id: ReservationID, estimate: Usage, actual: Usage, settleAt: Int64, keys: [WindowKey])] = []
            for reservation in nodes[id]!.open {
                guard reservation.settleAt <= now else { open.append(reservation); continue }
                let failed = chance(30)  // an upstream error: cancelled, nothing used
                let actual = failed ? Usage.zero : reservation.actual
                if failed { nodes[id]!.ledger.cancel(reservation.id) } else { nodes[id]!.ledger.settle(reservation.id, actual: actual) }
                nodes[id]!.changed = true
                for key in reservation.keys {
                    truth[key, default: .zero] = truth[key]! - reservation.estimate + actual
                    let over = Self.positivePart(actual - reservation.estimate)
                    excess[key, default: .zero] += over
                    overshootMax = max(overshootMax, over.tokens, over.microUSD, over.requests)
                }
            }
            // Actual usage above an estimate can pass the mark: the next write covers it.
            if open.count != nodes[id]!.open.count { _ = persist(id) }
            nodes[id]!.open = open
        }
    }

    func settleEverything() {
        let saved = now
        now += 1_000_000
        settleDue()
        now = saved
        pending = [:]
    }

    // MARK: Rights and gossip

    /// As the node does: asks for what the refusing window lacks, and at the same time for
    /// every other window of the request that lacks rights peers or the pool may hold.
    private func askForRights(_ refusal: QuotaRefusal, _ estimate: Usage, on id: UInt64) {
        let key = refusal.window
        let shortfall = nodes[id]!.ledger.shortfall(in: key, for: estimate)
        if shortfall != .zero { requestRights(key, shortfall, on: id, kind: .urgent) }
        let (schedule, current) = (self.schedule, members)
        let others = nodes[id]!.ledger.lackingWindows(
            for: estimate, against: specs, now: clock(of: id), skipping: key, membersAt: { schedule.voters(at: $0) ?? current })
        for (other, lacking) in others where !nodes[id]!.ledger.isSpent(other, for: estimate) {
            requestRights(other, lacking, on: id, kind: .urgent)
        }
    }

    /// What `id`'s requests waiting for rights in `key` need.
    func waiting(in key: WindowKey, on id: UInt64) -> Usage {
        (pending[id] ?? []).filter { $0.lastRefusal?.window == key }.map(\.estimate).reduce(Usage.zero) { $0.joined(with: $1) }
    }

    /// Asks every peer for `amount` in `key`, at most once per 30 ms per window and kind.
    private func requestRights(_ key: WindowKey, _ amount: Usage, on id: UInt64, kind: RightsRequestKind) {
        let urgent = kind == .urgent
        let last = urgent ? nodes[id]!.rightsAskedAt[key] : nodes[id]!.topUpAskedAt[key]
        if let last, now - last < 30 { return }
        if urgent { nodes[id]!.rightsAskedAt[key] = now } else { nodes[id]!.topUpAskedAt[key] = now }
        if limits.pooled && proposeAllocation(key, amount, on: id) { return }
        for peer in members where peer != id { send(.rightsRequest(key, amount, kind), from: id, to: peer) }
    }

    func gossip(full: Bool) {
        for id in nodes.keys.sorted() where !isPaused(id) {
            for peer in members where peer != id {
                let known = full ? [:] : (nodes[id]!.sent[peer] ?? [:])
                let updates = nodes[id]!.ledger.updates(since: known)
                guard !updates.isEmpty else { continue }
                send(.gossip(updates), from: id, to: peer)
                // Deltas assume delivery; losses are repaired by the periodic full state.
                nodes[id]!.sent[peer] = nodes[id]!.ledger.counters
            }
        }
    }

    func send(_ payload: Payload, from: UInt64, to: UInt64) {
        if cut.contains([from, to]) || (faultsOn && chance(profile.lossPerMille)) { return }
        let copies = faultsOn && profile.duplicatePerMille > 0 && chance(profile.duplicatePerMille) ? 2 : 1
        for _ in 0..<copies {
            let delay = profile.delayMillisecondsMax == 0 ? 0 : Int64.random(in: 0...profile.delayMillisecondsMax, using: &random)
            network.append(InFlight(deliverAt: now + delay, from: from, to: to, payload: payload))
        }
    }

    private func deliver() {
        // A paused node reads its messages when it resumes.
        let due = network.filter { $0.deliverAt <= now && !isPaused($0.to) }
        network.removeAll { $0.deliverAt <= now && !isPaused($0.to) }
        for message in due where nodes[message.to] != nil && !cut.contains([message.from, message.to]) {
            switch message.payload {
            case let .gossip(updates), let .rightsGrant(updates):
                for update in updates { nodes[message.to]!.ledger.merge(update) }
                nodes[message.to]!.changed = true
            case let .rightsRequest(key, amount, kind):
                let granted = nodes[message.to]!.ledger.beginGrant(
                    in: key, to: message.from, requested: amount, kind: kind, waiting: waiting(in: key, on: message.to))
                guard granted != .zero else { continue }
                // The grant is durable before it leaves: a restart must not give it again.
                // A failed write takes it back, unsent.
                guard persist(message.to, including: [key]) else {
                    nodes[message.to]!.ledger.abortGrant(in: key, to: message.from, amount: granted)
                    continue
                }
                nodes[message.to]!.ledger.completeGrant(in: key, to: message.from, amount: granted)
                let update = nodes[message.to]!.ledger.updates().filter { $0.key == key }
                send(.rightsGrant(update), from: message.to, to: message.from)
            }
        }
    }

    // MARK: Faults

    private func injectFaults() {
        if chance(profile.partitionPerMille) { changePartitions() }
        if chance(profile.crashPerMille), let victim = nodes.keys.sorted().randomElement(using: &random) {
            crash(victim)
        }
        if !crashed.isEmpty && chance(20), let back = crashed.sorted().randomElement(using: &random) { restart(back) }
        if chance(profile.membershipChangePerMille) { changeMembership() }
        if chance(profile.capChangePerMille) {
            // A new revision raises a cap mid-window (usage so far is kept).
            let position = Int.random(in: 0..<specs.count, using: &random)
            var caps = specs[position].caps
            caps = Caps(requests: caps.requests.map { $0 + $0 / 4 }, tokens: caps.tokens.map { $0 + $0 / 4 },
                        microUSD: caps.microUSD.map { $0 + $0 / 4 })
            specs[position].caps = caps
        }
    }

    /// Heals, or cuts: one member off, the members into two sides of any sizes, or
    /// directed links at random (A hears B, B does not hear A).
    private func changePartitions() {
        cut = []
        let ids = (members + Array(leaving)).sorted()
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            return
        case 1:
            guard let lonely = members.randomElement(using: &random) else { return }
            for other in ids where other != lonely { cut.insert([lonely, other]); cut.insert([other, lonely]) }
        case 2:
            let side = Set(ids.filter { _ in Bool.random(using: &random) })
            for a in ids { for b in ids where side.contains(a) != side.contains(b) { cut.insert([a, b]) } }
        default:
            for a in ids { for b in ids where a != b && Int.random(in: 0..<4, using: &random) == 0 { cut.insert([a, b]) } }
        }
    }

    /// Distinct node ids one run may use. A window's counter keeps at most
    /// `EscrowCounter.slotsMax` (256) members; an hour-long run at the seed's churn (a join
    /// or drain every few seconds) would pass that, which no real cluster does in one window.
    static let nodeIDsMax = 48

    /// A node joins (a new id) or a member drains: hands its spare rights to the others,
    /// makes the grants durable, tells everyone, and takes no new requests. Either way the
    /// split of windows starting a second from now changes (the leader's schedule).
    func changeMembership() {
        if Bool.random(using: &random), members.count < 7, members.count + leaving.count + crashed.count < Self.nodeIDsMax {
            let id = (members + leaving + crashed).max()! + 1
            nodes[id] = SimNode(ledger: QuotaLedger(member: id, tracksDurability: true))
            members.append(id)
        } else if members.count > 3, let id = members.filter({ nodes[$0] != nil }).randomElement(using: &random) {
            members.removeAll { $0 == id }
            leaving.insert(id)
            pending[id] = nil
            let grants = nodes[id]!.ledger.beginHandBack(to: members)
            let written = persist(id, including: Set(grants.map(\.key)))
            for grant in grants {
                // A hand-back whose write failed is taken back: the rights stay, unused, here.
                if written {
                    nodes[id]!.ledger.completeGrant(in: grant.key, to: grant.receiver, amount: grant.amount)
                } else {
                    nodes[id]!.ledger.abortGrant(in: grant.key, to: grant.receiver, amount: grant.amount)
                }
            }
            for peer in members { send(.gossip(nodes[id]!.ledger.updates()), from: id, to: peer) }
        } else {
            return
        }
        // Pooled windows split over the pool, whoever the members are.
        if !limits.pooled { schedule.append(effectiveFrom: now + 1_000, voters: members) }
    }

    /// The node stops: its reservations are lost (their usage stays counted through the
    /// high-water mark) and everything not durable is forgotten.
    func crash(_ id: UInt64) {
        // The lost reservations' requests may have run: the truth keeps their estimates.
        guard nodes.removeValue(forKey: id) != nil else { return }
        crashed.insert(id)
        pending[id] = nil
    }

    func restart(_ id: UInt64) {
        crashed.remove(id)
        var ledger = QuotaLedger(member: id, tracksDurability: true)
        for key in (stored[id] ?? [:]).keys.sorted(by: { $0.description < $1.description }) { ledger.restore(stored[id]![key]!) }
        nodes[id] = SimNode(ledger: ledger)
        if limits.pooled { replayAllocations(on: id) }
    }

    // MARK: Checks

    func viewsConverged() -> Bool {
        func view(_ id: UInt64) -> [WindowKey: EscrowCounter]? { nodes[id]?.ledger.counters.filter { !$0.value.isEmpty } }
        guard network.isEmpty, log.proposed.isEmpty, log.toApply.values.allSatisfy(\.isEmpty), let reference = view(members[0]) else { return false }
        return members.allSatisfy { view($0) == reference }
    }

    /// What still differs when views do not converge: messages and allocations under way,
    /// and the first window two members see differently.
    func divergence() -> String {
        var parts = ["in_flight=\(network.count)", "proposed=\(log.proposed.count)", "members=\(members)", "leaving=\(leaving.sorted())"]
        func view(_ id: UInt64) -> [WindowKey: EscrowCounter] { nodes[id]?.ledger.counters.filter { !$0.value.isEmpty } ?? [:] }
        guard let first = members.first else { return parts.joined(separator: " ") }
        let reference = view(first)
        for id in members.dropFirst() {
            let other = view(id)
            guard other != reference else { continue }
            let keys = Set(reference.keys).symmetricDifference(other.keys)
            if let key = keys.first {
                parts.append("window \(key) known to \(reference[key] == nil ? id : first) only (node \(id) has \(other.count) windows, node \(first) \(reference.count))")
            } else if let key = reference.keys.first(where: { reference[$0] != other[$0] }) {
                parts.append("window \(key): node \(first) \(reference[key]!) vs node \(id) \(other[key]!)")
            }
            break
        }
        return parts.joined(separator: " ")
    }

    /// The smallest share of a cap reached (counting the refused request) at a window's
    /// first refusal, with the window, on balanced fault-free runs.
    func admittedMinPercent() -> (percent: Double, window: String)? {
        guard profile.isFaultFree && !profile.skewed else { return nil }
        var lowest: (percent: Double, window: String) = (100, "")
        for (key, reached) in firstRefusal {
            guard let spec = specs.first(where: { $0.id == key.quota }) else { continue }
            let percents = [(reached.requests, spec.caps.requests), (reached.tokens, spec.caps.tokens), (reached.microUSD, spec.caps.microUSD)]
                .compactMap { value, cap in cap.map { min(100, Double(value) * 100 / Double(max(1, $0))) } }
            if let worst = percents.max(), worst < lowest.percent { lowest = (worst, "\(key) reached \(reached) of \(spec.caps)") }
        }
        return lowest
    }

    static func positivePart(_ usage: Usage) -> Usage {
        Usage(requests: max(0, usage.requests), tokens: max(0, usage.tokens), microUSD: max(0, usage.microUSD))
    }

    static func largestExcess(_ total: Usage, _ allowed: Usage, _ caps: Caps) -> Int64 {
        var over: Int64 = 0
        if caps.requests != nil { over = max(over, total.requests - allowed.requests) }
        if caps.tokens != nil { over = max(over, total.tokens - allowed.tokens) }
        if caps.microUSD != nil { over = max(over, total.microUSD - allowed.microUSD) }
        return over
    }
}

struct PendingRequest {
    let estimate: Usage
    let actual: Usage
    var deadline: Int64
    var lastRefusal: QuotaRefusal?
    /// The wait started over once already (in the next window of the same quota).
    var restarted = false
    /// The wait was extended once already for an allocation under way.
    var extended = false
}

extension Caps {
    /// The caps as usage for checks (uncapped units count as 0 and are skipped).
    var asCheckable: Usage { Usage(requests: requests ?? 0, tokens: tokens ?? 0, microUSD: microUSD ?? 0) }
}
