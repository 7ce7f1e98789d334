import QuotaCRDT

/// Pooled windows (docs/quotas.md): every window's cap starts in a `QuotaPool` that the
/// simulated Raft log decides. An allocation request is committed after a commit delay,
/// or later while the log has no leader (a leader change: no commits for a second or
/// two); each node applies the committed entries after an apply delay of its own, and a
/// node that is paused or cut off applies them when it is back. Nodes also pause (longer
/// than any lease would last), die holding allocations, and read clocks that drift
/// apart within `clockSkewMillisecondsMax`.
extension QuotaSimulator {
    /// The largest offset of a node's clock from true time.
    static let clockSkewMillisecondsMax: Int64 = 250

    struct PooledLog {
        var pool = QuotaPool()
        /// Entries proposed, not yet committed, in proposal order.
        var proposed: [(commitAt: Int64, proposer: UInt64, requests: [QuotaPool.Request])] = []
        /// No entry commits before this (a leader change under way).
        var stalledUntil: Int64 = .min
        /// Committed window updates each node has still to apply, with when.
        var toApply: [UInt64: [(at: Int64, updates: [WindowUpdate])]] = [:]
        /// Windows each node has an allocation request under way for.
        var allocating: [UInt64: Set<WindowKey>] = [:]
    }

    /// This node's clock.
    func clock(of id: UInt64) -> Int64 { now + (clockOffsets[id] ?? 0) }

    /// True when `id` cannot act: paused.
    func isPaused(_ id: UInt64) -> Bool { (pausedUntil[id] ?? .min) > now }

    /// Proposes an allocation for `id` in `key` when the pool, as `id` knows it, has
    /// rights left where `amount` needs them and no request of `id`'s is under way for the
    /// window. Returns false when the pool cannot help (ask peers instead).
    func proposeAllocation(_ key: WindowKey, _ amount: Usage, on id: UInt64) -> Bool {
        let ledger = nodes[id]!.ledger
        guard ledger.poolMayCover(amount, in: key) else { return false }
        guard !(log.allocating[id]?.contains(key) ?? false) else { return true }
        // A node cut off from the others reaches no leader.
        if cutOff(id) { return true }
        log.allocating[id, default: []].insert(key)
        let request = QuotaPool.Request(key: key, receiver: id, amount: ledger.allocation(in: key, for: amount))
        let delay = Int64.random(in: 2...max(2, profile.delayMillisecondsMax * 2 + 5), using: &random)
        log.proposed.append((now + delay, id, [request]))
        return true
    }

    /// As the node's `prefetchLoop` does every 250 ms: each member that can reach the log
    /// asks for one allocation in the window after every pooled window of its ending within
    /// a second where it was busy (`QuotaLedger.prefetches`), so the next window opens
    /// without waiting for a commit.
    func prefetchAllocations() {
        for id in nodes.keys.sorted() where !isPaused(id) && !cutOff(id) {
            for (key, amount) in nodes[id]!.ledger.prefetches(now: clock(of: id), horizon: Self.prefetchHorizonMilliseconds)
            where !(log.allocating[id]?.contains(key) ?? false) {
                log.allocating[id, default: []].insert(key)
                let delay = Int64.random(in: 2...max(2, profile.delayMillisecondsMax * 2 + 5), using: &random)
                log.proposed.append((now + delay, id, [QuotaPool.Request(key: key, receiver: id, amount: amount)]))
            }
        }
    }

    /// The node's `prefetchIntervalMilliseconds` and `prefetchHorizonMilliseconds`.
    static let prefetchEveryMilliseconds: Int64 = 250
    static let prefetchHorizonMilliseconds: Int64 = 1_000

    /// True when an allocation request of `id`'s for `key` is under way in the log.
    func allocationUnderWay(_ key: WindowKey, on id: UInt64) -> Bool { log.allocating[id]?.contains(key) ?? false }

    /// True when `id` is on the losing side of a partition.
    func cutOff(_ id: UInt64) -> Bool { members.contains { $0 != id && cut.contains([id, $0]) } }

    /// Commits what is due (in order, none while the log is stalled) and hands the
    /// updates to every node, each after its own apply delay.
    func commitAllocations() {
        guard now >= log.stalledUntil else { return }
        while let first = log.proposed.first, first.commitAt <= now {
            log.proposed.removeFirst()
            let caps = Dictionary(specs.map { ($0.id, $0.caps) }) { first, _ in first }
            let changed = log.pool.apply(first.requests, time: now) { caps[$0.quota] }
            let updates = changed.compactMap { key in caps[key.quota].flatMap { log.pool.update(for: key, caps: $0) } }
            for request in first.requests { log.allocating[first.proposer]?.remove(request.key) }
            for id in nodes.keys.sorted() {
                let lag = profile.delayMillisecondsMax == 0 ? 0 : Int64.random(in: 0...profile.delayMillisecondsMax, using: &random)
                log.toApply[id, default: []].append((now + lag, updates))
            }
            nodes[first.proposer]?.changed = true
        }
    }

    /// Each node that can act applies the committed updates that have reached it.
    func applyAllocations() {
        for id in nodes.keys.sorted() where !isPaused(id) && !cutOff(id) {
            guard let queue = log.toApply[id], !queue.isEmpty else { continue }
            let due = queue.filter { $0.at <= now }
            guard !due.isEmpty else { continue }
            log.toApply[id] = queue.filter { $0.at > now }
            for entry in due { for update in entry.updates { nodes[id]!.ledger.merge(update) } }
            nodes[id]!.changed = true
        }
    }

    /// A node that restarts replays the log: it knows every allocation committed so far.
    func replayAllocations(on id: UInt64) {
        let caps = Dictionary(specs.map { ($0.id, $0.caps) }) { first, _ in first }
        for key in log.pool.windows.keys {
            if let update = caps[key.quota].flatMap({ log.pool.update(for: key, caps: $0) }) { nodes[id]!.ledger.merge(update) }
        }
        log.toApply[id] = []
        log.allocating[id] = []
    }

    /// Pooled faults: a leader change stalls the log; a node pauses for 1 to 20 s (its
    /// load goes elsewhere, its messages wait).
    func injectPoolFaults() {
        if chance(profile.crashPerMille) { log.stalledUntil = now + Int64.random(in: 500...2_000, using: &random) }
        if chance(profile.partitionPerMille), let victim = members.filter({ nodes[$0] != nil }).randomElement(using: &random) {
            pausedUntil[victim] = now + Int64.random(in: 1_000...20_000, using: &random)
        }
    }

    /// Rights held unused, in a window, by the nodes that cannot serve now (paused,
    /// crashed or cut off), as a share of the cap: what a node that goes away strands.
    func strandedPercent(in key: WindowKey) -> Double {
        guard let spec = specs.first(where: { $0.id == key.quota }), let window = log.pool.windows[key] else { return 0 }
        var worst = 0.0
        for (unit, cap) in [(\Usage.requests, spec.caps.requests), (\Usage.tokens, spec.caps.tokens), (\Usage.microUSD, spec.caps.microUSD)] {
            guard let cap, cap > 0 else { continue }
            var stranded: Int64 = 0
            for (id, allocated) in window.allocated where nodes[id] == nil || isPaused(id) || cutOff(id) {
                let used = admittedBy[key]?[id] ?? .zero
                stranded += max(0, allocated[keyPath: unit] - used[keyPath: unit])
            }
            worst = max(worst, Double(stranded) * 100 / Double(cap))
        }
        return worst
    }
}
