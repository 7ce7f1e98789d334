import SeededRandom
import Consensus

extension RaftSimulator {
    /// Handles one `Ready` of `id` as a real node would (persist, send, apply, advance),
    /// with a chance of crashing before persisting (the writes are lost) or between
    /// persisting and sending. Returns whether there was anything to do.
    func processReady(_ id: NodeID) -> Bool {
        guard var node = nodes[id], node.raw.hasReady else { return false }
        let ready = node.raw.ready()
        if faultsOn && chance(profile.crashInReadyPerMille) {
            crash(id)  // before the writes reached the disk: all of this Ready is lost
            return true
        }
        if let snapshot = ready.snapshot {
            do {
                try node.storage.applySnapshot(snapshot)
            } catch {
                violate("node \(id) was handed snapshot \(snapshot.metadata.index) older than its own")
            }
            node.applied = AppliedLog.decode(snapshot.data)
            node.membership = snapshot.metadata.configuration
            checkSnapshot(snapshot, on: id, applied: node.applied)
        }
        checkLogMatching(ready.entries, on: id, storage: node.storage)
        try! node.storage.append(ready.entries)
        if let hardState = ready.hardState { node.storage.setHardState(hardState) }
        if ready.mustSync { node.durableHardState = node.storage.hardState }
        if faultsOn && chance(profile.crashInReadyPerMille) {
            nodes[id] = node
            crash(id, powerLoss: chance(profile.powerLossPerMille))  // persisted, but the messages never left
            return true
        }
        for message in ready.messages { send(message, from: &node) }
        for entry in ready.committedEntries {
            apply(entry, on: id, node: &node)
        }
        nodes[id] = node
        for state in ready.readStates { checkRead(state, on: id) }
        node = nodes[id]!
        node.raw.advance(ready)
        if let soft = ready.softState, soft.role == .leader {
            checkLeaderCompleteness(id, node: node)
        }
        nodes[id] = node
        return true
    }

    private func send(_ message: Message, from node: inout SimNode) {
        // What a correct node sends must pass the checks peers apply on the wire.
        do {
            try message.validate()
        } catch {
            violate("peers would refuse \(message): \(error)")
        }
        let result = network.send(message, now: now, random: &random)
        if message.kind == .snapshot {
            node.raw.reportSnapshot(to: message.to, failed: result != .queued)
        }
        if result == .cut { node.raw.reportUnreachable(message.to) }
    }

    private func apply(_ entry: Entry, on id: NodeID, node: inout SimNode) {
        guard entry.index > node.applied.index else {
            violate("node \(id) was handed entry \(entry.index) to apply after \(node.applied.index)")
            return
        }
        let fingerprint = Fingerprint(term: entry.term, kind: entry.kind, data: entry.data)
        if let known = appliedAt[entry.index] {
            if known != fingerprint {
                violate("node \(id) applied \(fingerprint) at \(entry.index) where another node applied \(known)")
            }
        } else {
            appliedAt[entry.index] = fingerprint
        }
        if entry.kind == .configurationChange, let change = ConfigurationChangeCodec.decode(entry.data) {
            node.membership = node.raw.applyConfigurationChange(change)
            if change.kind == .remove && node.raw.softState.role == .leader && stopAt[change.node] == nil {
                removed.insert(change.node)
                stopAt[change.node] = now + 20  // let a removed leader's step-down play out
            }
        }
        node.applied.apply(entry)
        node.appliedSinceSnapshot += 1
        if entry.kind == .normal, pendingProposals[entry.data] == id {
            pendingProposals[entry.data] = nil
            acknowledged[entry.index] = entry.data  // the proposer applied it: the client hears "committed"
        }
    }

    /// Stops `id` at once. Its storage keeps every write that returned; a power loss also
    /// drops the writes that were not synced (the commit index of non-`mustSync` batches).
    func crash(_ id: NodeID, powerLoss: Bool = false) {
        guard let node = nodes.removeValue(forKey: id) else { return }
        pausedUntil[id] = nil
        counts.crashes += 1
        if powerLoss && node.storage.hardState != node.durableHardState {
            node.storage.setHardState(node.durableHardState)
            counts.powerLosses += 1
        }
        crashed[id] = node.storage
    }

    /// A read's answer: the node serves its state once it has applied through the read
    /// index, and that index must not be older than what was applied anywhere when the
    /// read began (linearizability of ReadIndex reads).
    func checkRead(_ state: ReadState, on id: NodeID) {
        guard let pending = pendingReads.removeValue(forKey: state.context) else { return }  // answered already
        if pending.node != id {
            violate("read \(state.context) began on node \(pending.node) and was answered on node \(id)")
        }
        if state.index < pending.floor {
            violate("stale read on node \(id): read index \(state.index), but \(pending.floor) was applied before the read began")
        }
        counts.readsAnswered += 1
    }

    func restart(_ id: NodeID) {
        guard let storage = crashed.removeValue(forKey: id) else { return }
        start(id, storage: storage)
    }
}
