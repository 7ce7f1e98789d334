import Logging
import Metrics
import QuotaCRDT
import Synchronization
import Transport

extension QuotaService {
    /// Runs the service's loops until cancelled: gossip, durable records, top-ups.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.gossipLoop() }
            group.addTask { await self.persistLoop() }
            group.addTask { await self.topUpLoop(self.topUpKicksStream) }
            group.addTask { await self.allocationLoop(self.allocationKicksStream) }
            group.addTask { await self.prefetchLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Handles the router's share of received messages: merges gossip at once, answers
    /// rights requests in tasks of their own (a grant waits for a synced write).
    public func receive(_ batch: [Envelope]) {
        for envelope in batch {
            switch envelope.type {
            case .quotaGossip:
                guard let updates = WindowUpdateCodec.decode(envelope.payload) else {
                    logger.warning("dropped unreadable quota gossip", metadata: ["from": "\(envelope.sender)"])
                    continue
                }
                merge(updates, from: envelope.sender.rawValue)
            case .quotaRightsRequest where envelope.expectsReply:
                Task { await answerRightsRequest(envelope) }
            default:
                logger.debug("dropped a quota message of unexpected type", metadata: ["type": "\(envelope.type)"])
            }
        }
    }

    /// Folds peers' window states in and wakes the requests waiting for rights. A window
    /// that ended more than `quota.window_grace_ms` ago by this node's clock is ignored:
    /// this node has dropped it (its own usage record too), so reviving it from a peer's
    /// view, stale or from a skewed clock, would undercount what this node admitted.
    func merge(_ updates: [WindowUpdate], from peer: UInt64) {
        let time = now()
        let current = updates.filter { !isLongOver($0.key, at: time) }
        let conflicts = state.withLock { s in
            let split = Self.split(s)
            return current.reduce(0) { $0 + (s.ledger.merge($1, membersAt: split) ? 0 : 1) }
        }
        if conflicts > 0 {
            metrics.memberSplitConflicts.increment(by: conflicts)
            logger.warning(
                "a peer splits quota windows over other members than this node",
                metadata: ["peer": "\(peer)", "windows": "\(conflicts)"])
        }
        changes.fire()
    }

    /// Whether `key`'s window ended more than `windowGraceMilliseconds` before `time`
    /// (its end from its key, not from what a peer says).
    func isLongOver(_ key: WindowKey, at time: Int64) -> Bool {
        guard let end = key.period.window(containing: key.start).end else { return false }
        return end.saturatingAdd(Int64(configuration.windowGraceMilliseconds)) <= time
    }

    // MARK: Gossip

    private func gossipLoop() async {
        let interval = Duration.milliseconds(configuration.gossipIntervalMilliseconds)
        let clock = ContinuousClock()
        var lastFull = clock.now
        var lastExpiry = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let full = lastFull.duration(to: clock.now) >= .milliseconds(configuration.antiEntropyIntervalMilliseconds)
            if full { lastFull = clock.now }
            gossip(full: full)
            if lastExpiry.duration(to: clock.now) >= .milliseconds(Self.expiryCheckIntervalMilliseconds) {
                lastExpiry = clock.now
                expireWindows()
            }
        }
    }

    /// Sends every peer the windows that changed since it was last sent the changes (or
    /// every window). A message the transport could not queue makes the next round send
    /// that peer everything.
    func gossip(full: Bool) {
        let peers = transport.peers.keys.map(\.rawValue).filter { $0 != nodeID }
        guard !peers.isEmpty else { return }
        let outgoing = state.withLock { s -> [(peer: UInt64, updates: [WindowUpdate])] in
            var outgoing: [(UInt64, [WindowUpdate])] = []
            var byGeneration: [UInt64: [WindowUpdate]] = [:]  // peers in step share one scan
            for peer in peers {
                let since = full ? 0 : s.sentGeneration[peer] ?? 0
                let updates = byGeneration[since] ?? s.ledger.updates(changedAfter: since)
                byGeneration[since] = updates
                s.sentGeneration[peer] = s.ledger.generation
                if !updates.isEmpty { outgoing.append((peer, updates)) }
            }
            return outgoing
        }
        let chunk = max(1, configuration.updatesPerMessageMax)
        for (peer, updates) in outgoing {
            for start in stride(from: 0, to: updates.count, by: chunk) {
                let payload = WindowUpdateCodec.encode(Array(updates[start..<min(start + chunk, updates.count)]))
                if transport.send(.quotaGossip, payload, to: PeerID(peer)) != .queued {
                    state.withLock { _ = $0.sentGeneration.removeValue(forKey: peer) }
                    break
                }
            }
        }
    }

    /// How often ended windows are looked for.
    static let expiryCheckIntervalMilliseconds = 1_000

    /// Drops windows past their grace period from memory, and queues their records for
    /// deletion.
    private func expireWindows() {
        let time = now()
        let expired = state.withLock { s in
            let expired = s.ledger.expire(now: time, graceMilliseconds: Int64(configuration.windowGraceMilliseconds))
            for key in expired {
                s.askedAt[key] = nil
                s.toppedUpAt[key] = nil
                s.needs[key] = nil
            }
            if !expired.isEmpty && store != nil { s.expired += expired }
            return expired
        }
        if !expired.isEmpty { persistKick.yield() }
    }

    // MARK: Durable records

    private func persistLoop() async {
        for await _ in persistKicksStream { await persist() }
    }

    /// Writes the records whose marks are due, those of `keys` (grants in progress) and
    /// the deletions of expired windows, then raises the marks. Returns false when the
    /// write failed (logged and counted; admission then stays under the old marks).
    @discardableResult
    func persist(including keys: Set<WindowKey> = []) async -> Bool {
        guard let store else { return true }
        let expired = state.withLock { s in
            defer { s.expired = [] }
            return s.expired
        }
        do {
            let records = try await store.write(expired: expired) {
                self.state.withLock { $0.ledger.recordsToPersist(including: keys) }
            }
            if !records.isEmpty {
                state.withLock { $0.ledger.confirmDurable(records) }
                changes.fire()
            }
            return true
        } catch {
            state.withLock { $0.expired += expired }
            metrics.persistFailures.increment()
            logger.error("cannot write quota records; admissions wait for them", metadata: ["error": "\(error)"])
            return false
        }
    }
}
