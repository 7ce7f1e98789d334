extension Raft {
    // MARK: Leader: sending

    /// Sends `to` the entries it lacks (or a snapshot, if they were compacted). Returns
    /// whether a message was sent. With `sendIfEmpty` false, sends only when there are
    /// entries.
    @discardableResult
    mutating func sendAppend(to peer: NodeID, sendIfEmpty: Bool = true) -> Bool {
        guard var progress = tracker.progress[peer], !progress.isPaused else { return false }
        defer { tracker.progress[peer] = progress }
        let previousIndex = progress.next - 1
        let previousTerm = try? log.term(previousIndex)
        let entries = try? log.entries(from: progress.next, bytesMax: configuration.appendBytesMax)
        if let previousTerm, let entries {
            if entries.isEmpty && !sendIfEmpty { return false }
            var append = Message(kind: .append, from: id, to: peer)
            append.index = previousIndex
            append.logTerm = previousTerm
            append.entries = entries
            append.commit = log.committed
            send(append)
            if let last = entries.last {
                switch progress.state {
                case .replicate:
                    progress.optimisticUpdate(last.index)
                    progress.inflights.add(last.index)
                case .probe:
                    progress.probeSent = true
                case .snapshot:
                    // `isPaused` is true in `.snapshot`, and the guard above returned.
                    preconditionFailure("sent entries to \(peer) while it installs a snapshot")
                }
            }
            return true
        }
        // The entries were compacted: the follower needs the snapshot.
        guard progress.recentActive else { return false }
        guard let snapshot = try? log.snapshot(), !snapshot.isEmpty else { return false }
        progress.becomeSnapshot(snapshot.metadata.index)
        var message = Message(kind: .snapshot, from: id, to: peer)
        message.snapshot = snapshot
        send(message)
        return true
    }

    mutating func broadcastAppend() {
        broadcastPending = false
        for peer in tracker.progress.keys.sorted() where peer != id {
            sendAppend(to: peer)
        }
    }

    /// Sends the owed broadcast, if any (called when a `Ready` is collected).
    mutating func flushBroadcast() {
        if broadcastPending && role == .leader { broadcastAppend() }
        broadcastPending = false
    }

    mutating func broadcastHeartbeat(context: [UInt8]) {
        for peer in tracker.progress.keys.sorted() where peer != id {
            // Never tell a follower to commit beyond what it is known to have.
            var heartbeat = Message(kind: .heartbeat, from: id, to: peer)
            heartbeat.commit = min(tracker.progress[peer]!.match, log.committed)
            heartbeat.context = context
            send(heartbeat)
        }
    }

    // MARK: Leader: responses

    mutating func handleAppendResponse(_ message: Message) {
        let peer = message.from
        if message.reject {
            // Skip back to where the follower's log can match, a term at a time. (A hint
            // past our log is no better than our last index.)
            let hint = log.findConflictByTerm(index: min(message.rejectHint, log.lastIndex), term: message.logTerm)
            if tracker.progress[peer]!.maybeDecrease(rejected: message.index, matchHint: hint.index) {
                if tracker.progress[peer]!.state == .replicate { tracker.progress[peer]!.becomeProbe() }
                sendAppend(to: peer)
            }
            return
        }
        // Nobody can hold what this leader has not appended: such an acknowledgement comes
        // from a faulty peer, and taken as `match` it would count toward commits and push
        // `next` past the log. Ignoring it also keeps `index + 1` in Progress in range.
        guard message.index <= log.lastIndex else { return }
        let wasPaused = tracker.progress[peer]!.isPaused
        guard tracker.progress[peer]!.maybeUpdate(message.index) else { return }
        switch tracker.progress[peer]!.state {
        case .probe:
            tracker.progress[peer]!.becomeReplicate()
        case .snapshot where tracker.progress[peer]!.match + 1 >= log.firstIndex:
            // The snapshot (or appends after it) brought the follower within the log.
            tracker.progress[peer]!.becomeProbe()
            tracker.progress[peer]!.becomeReplicate()
        case .replicate:
            tracker.progress[peer]!.inflights.freeLE(message.index)
        case .snapshot:
            break
        }
        if maybeCommit() {
            releasePendingReadIndexRequests()
            broadcastPending = true
        } else if wasPaused && !broadcastPending {
            sendAppend(to: peer)  // (an owed broadcast will reach this follower anyway)
        }
        // Stream what is left while the window allows.
        while sendAppend(to: peer, sendIfEmpty: false) {}
        if peer == leadTransferee && tracker.progress[peer]!.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: id, to: peer))
        }
    }

    mutating func handleHeartbeatResponse(_ message: Message) {
        let peer = message.from
        tracker.progress[peer]!.probeSent = false
        if tracker.progress[peer]!.state == .replicate && tracker.progress[peer]!.inflights.isFull {
            tracker.progress[peer]!.inflights.freeFirst()
        }
        if tracker.progress[peer]!.match < log.lastIndex {
            sendAppend(to: peer)
        }
        handleReadIndexAcknowledgement(from: peer, context: message.context)
    }

    /// The application reports whether sending a snapshot to `peer` worked.
    mutating func reportSnapshot(to peer: NodeID, failed: Bool) {
        guard role == .leader, var progress = tracker.progress[peer], progress.state == .snapshot else { return }
        if failed { progress.pendingSnapshot = 0 }
        progress.becomeProbe()
        // Wait for a heartbeat response before the next append.
        progress.probeSent = true
        tracker.progress[peer] = progress
    }

    /// The application reports that `peer` could not be reached.
    mutating func reportUnreachable(_ peer: NodeID) {
        guard role == .leader, tracker.progress[peer]?.state == .replicate else { return }
        tracker.progress[peer]!.becomeProbe()
    }

    // MARK: Follower

    mutating func handleAppend(_ message: Message) {
        var response = Message(kind: .appendResponse, from: id, to: message.from)
        if message.index < log.committed {
            response.index = log.committed
            send(response)
            return
        }
        if let lastNew = log.maybeAppend(
            index: message.index, logTerm: message.logTerm, commit: message.commit, entries: message.entries) {
            response.index = lastNew
            send(response)
            return
        }
        // Our log does not match at message.index: hint where it might.
        let guess = min(message.index, log.lastIndex)
        let hint = log.findConflictByTerm(index: guess, term: message.logTerm)
        response.index = message.index
        response.reject = true
        response.rejectHint = hint.index
        response.logTerm = hint.term
        send(response)
    }

    mutating func handleHeartbeat(_ message: Message) {
        // The leader sends min(its commit, our match), so a commit past our last index
        // means its view of our log is wrong: this node lost its data and came back under
        // the same id (or the peer is faulty). Entries we do hold may then differ from the
        // leader's, so commit nothing on that word; appends, which carry the proof of a
        // matching prefix, will move the commit.
        if message.commit <= log.lastIndex { log.commit(to: message.commit) }
        var response = Message(kind: .heartbeatResponse, from: id, to: message.from)
        response.context = message.context
        send(response)
    }

    mutating func handleSnapshot(_ message: Message) {
        guard let snapshot = message.snapshot else { return }
        var response = Message(kind: .appendResponse, from: id, to: message.from)
        response.index = restore(snapshot) ? log.lastIndex : log.committed
        send(response)
    }

    /// Installs `snapshot` unless it is old, or this voter is not in its membership.
    /// A learner (a joining node) installs a snapshot taken before its own addition: it
    /// cannot vote, and replays its addition from the entries that follow. Returns whether
    /// it was installed.
    mutating func restore(_ snapshot: Snapshot) -> Bool {
        let metadata = snapshot.metadata
        guard metadata.index > log.committed else { return false }
        guard metadata.configuration.members.contains(id) || !tracker.isVoter(id) else { return false }
        if log.matchTerm(metadata.index, metadata.term) {
            // We already have the entries: just fast-forward the commit.
            log.commit(to: metadata.index)
            return false
        }
        log.restore(snapshot)
        tracker = ProgressTracker(inflightsMax: configuration.inflightAppendsMax)
        tracker.apply(metadata.configuration, nextIndex: log.lastIndex + 1)
        return true
    }
}
