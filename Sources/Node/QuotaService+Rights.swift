import Logging
import Metrics
import QuotaCRDT
import Synchronization
import Transport

/// Where a short node asks for rights: the pool of a pooled window (through the Raft
/// log), or its peers.
enum RightsAsk {
    case pool
    case peers(RightsRequest, [UInt64])
}

extension QuotaService {
    /// Asks for `amount` in `key`, unless a request of the same kind went out less than
    /// `rightsRequestSpacingMilliseconds` ago: from the pool while it has rights left in
    /// every unit short (queued here, proposed by `allocationLoop`), otherwise from every
    /// other member of the window, or of the cluster for a pooled window. Called under
    /// the lock; returns the ask to send outside it, if any.
    func askIfDue(_ key: WindowKey, _ amount: Usage, _ kind: RightsRequestKind, at time: Int64, _ s: inout State) -> RightsAsk? {
        let last = kind == .urgent ? s.askedAt[key] : s.toppedUpAt[key]
        if let last, time - last < Int64(configuration.rightsRequestSpacingMilliseconds) { return nil }
        guard let window = s.ledger.update(for: key) else { return nil }
        if kind == .urgent { s.askedAt[key] = time } else { s.toppedUpAt[key] = time }
        if s.allocator != nil && s.ledger.poolMayCover(amount, in: key) {
            guard s.allocating.insert(key).inserted else { return nil }
            s.pendingAllocations.append(QuotaPool.Request(key: key, receiver: nodeID, amount: s.ledger.allocation(in: key, for: amount)))
            return .pool
        }
        let peers = (s.ledger.isPooled(key) ? s.members : window.members).filter { $0 != nodeID }
        return peers.isEmpty ? nil : .peers(RightsRequest(window: window, amount: amount, kind: kind), peers)
    }

    func send(_ ask: RightsAsk) {
        switch ask {
        case .pool: allocationKick.yield()
        case let .peers(request, peers): askForRights(request, peers: peers)
        }
    }

    /// Proposes the queued allocation requests, all of them in one entry, one entry at a
    /// time: what queues while one is under way goes in the next. Runs until cancelled.
    func allocationLoop(_ kicks: AsyncStream<Void>) async {
        for await _ in kicks {
            while true {
                let (batch, allocator) = state.withLock { s in
                    let batch = Array(s.pendingAllocations.prefix(QuotaPool.requestsPerEntryMax))
                    s.pendingAllocations.removeFirst(batch.count)
                    return (batch, s.allocator)
                }
                guard !batch.isEmpty, let allocator else { break }
                metrics.allocationRequests.increment(by: batch.count)
                let proposed = await allocator(batch)
                if !proposed { metrics.allocationFailures.increment(by: batch.count) }
                state.withLock { s in for request in batch { s.allocating.remove(request.key) } }
                // Applied or not, a waiting request looks again (and asks peers once the pool is out).
                changes.fire()
            }
        }
    }

    /// Sends `request` to each of `peers` and folds every answer in (grant or not, it
    /// carries the peer's state of the window, so this node learns what is left there).
    func askForRights(_ request: RightsRequest, peers: [UInt64]) {
        let payload = request.encode()
        let timeout = Duration.milliseconds(configuration.rightsTimeoutMilliseconds)
        for peer in peers {
            metrics.rightsRequests.increment()
            Task {
                do {
                    let reply = try await transport.request(.quotaRightsRequest, payload, to: PeerID(peer), timeout: timeout)
                    guard reply.type == .quotaRightsReply, let updates = WindowUpdateCodec.decode(reply.payload) else {
                        logger.warning("dropped an unreadable rights reply", metadata: ["from": "\(peer)"])
                        return
                    }
                    merge(updates, from: peer)
                } catch {
                    logger.debug("rights request failed", metadata: ["to": "\(peer)", "error": "\(error)"])
                }
            }
        }
    }

    /// Every `prefetchIntervalMilliseconds`: queues one allocation in the next window of
    /// every pooled window about to end where this node was busy (`QuotaLedger.prefetches`).
    func prefetchLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Self.prefetchIntervalMilliseconds))
            let time = now()
            let queued = state.withLock { s -> Bool in
                guard s.allocator != nil else { return false }
                var queued = false
                for (key, amount) in s.ledger.prefetches(now: time, horizon: Self.prefetchHorizonMilliseconds)
                where !isLongOver(key, at: time) && s.allocating.insert(key).inserted {
                    s.pendingAllocations.append(QuotaPool.Request(key: key, receiver: nodeID, amount: amount))
                    queued = true
                }
                return queued
            }
            if queued { allocationKick.yield() }
        }
    }

    /// How often, and how long before a window's end, the next window's allocation is asked for.
    static let prefetchIntervalMilliseconds = 250
    static let prefetchHorizonMilliseconds: Int64 = 1_000

    /// Asks peers for what the windows near their rights' end lack, before requests have
    /// to wait for it. Runs until cancelled, woken by admissions.
    func topUpLoop(_ kicks: AsyncStream<Void>) async {
        for await _ in kicks {
            let time = now()
            let asks = state.withLock { s in
                s.ledger.takeTopUps().compactMap { askIfDue($0.key, $0.amount, .topUp, at: time, &s) }
            }
            for ask in asks { send(ask) }
        }
    }

    /// Answers a peer's request for rights: grants what it can spare, makes the grant
    /// durable, then replies with this node's state of the window (grant included).
    func answerRightsRequest(_ envelope: Envelope) async {
        let peer = envelope.sender.rawValue
        guard let request = RightsRequest.decode(envelope.payload) else {
            logger.warning("dropped an unreadable rights request", metadata: ["from": "\(peer)"])
            return
        }
        let key = request.window.key
        let time = now()
        // A window this node has dropped as long over grants nothing and is not revived.
        guard !isLongOver(key, at: time) else {
            _ = transport.reply(to: envelope, .quotaRightsReply, WindowUpdateCodec.encode([]))
            return
        }
        let amount = state.withLock { s in
            s.ledger.merge(request.window, membersAt: Self.split(s))
            let waiting = s.needs[key].flatMap { $0.until > time ? $0.amount : nil } ?? .zero
            return s.ledger.beginGrant(in: key, to: peer, requested: request.amount, kind: request.kind, waiting: waiting)
        }
        if amount != .zero {
            // The grant must survive a crash before it leaves: otherwise a restarted node
            // could give the same rights again.
            guard await persist(including: [key]) else {
                state.withLock { $0.ledger.abortGrant(in: key, to: peer, amount: amount) }
                return
            }
            state.withLock { $0.ledger.completeGrant(in: key, to: peer, amount: amount) }
            metrics.grantsGiven.increment()
        }
        let window = state.withLock { $0.ledger.update(for: key) }
        _ = transport.reply(to: envelope, .quotaRightsReply, WindowUpdateCodec.encode(window.map { [$0] } ?? []))
    }

    /// Before this node leaves the cluster: hands its spare rights in every window to the
    /// other voters, makes the grants durable and gossips them at once. Returns how many
    /// grants were made: 0 also when the write failed (the rights then stay here).
    @discardableResult
    public func handBackRights() async -> Int {
        let grants = state.withLock { s in s.ledger.beginHandBack(to: s.members) }
        guard !grants.isEmpty else { return 0 }
        guard await persist(including: Set(grants.map(\.key))) else {
            state.withLock { s in
                for grant in grants { s.ledger.abortGrant(in: grant.key, to: grant.receiver, amount: grant.amount) }
            }
            return 0
        }
        state.withLock { s in
            for grant in grants { s.ledger.completeGrant(in: grant.key, to: grant.receiver, amount: grant.amount) }
        }
        gossip(full: true)
        logger.notice("handed quota rights back", metadata: ["grants": "\(grants.count)"])
        return grants.count
    }
}

extension QuotaService {
    /// The window updates that hand `retired`'s unused rights to `receivers`, to propose
    /// through the Raft log after a forced removal.
    public func reassignment(of retired: UInt64, to receivers: [UInt64]) -> [WindowUpdate] {
        state.withLock { $0.ledger.reassignment(of: retired, to: receivers) }
    }

    /// Applies a reassignment committed in the Raft log.
    public func applyReassignment(_ updates: [WindowUpdate]) {
        merge(updates, from: nodeID)
        logger.notice("applied a quota rights reassignment", metadata: ["windows": "\(updates.count)"])
    }
}
