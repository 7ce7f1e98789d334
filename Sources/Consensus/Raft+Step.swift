extension Raft {
    /// Handles a message from a peer (or a term-less request forwarded to this node).
    /// Peers' messages come through `RawNode.step`, which drops those that fail
    /// `Message.validate()`: the handlers rely on that shape (terms and indexes within
    /// `RaftLimits`, entries contiguous after `index`).
    mutating func step(_ message: Message) {
        // The caller routes by `to` (`RaftDriver.receive` checks it against the node id).
        precondition(message.to == id, "message for \(message.to) stepped on \(id)")
        guard handleTerm(of: message) else { return }
        switch message.kind {
        case .vote, .preVote:
            handleVoteRequest(message)
        default:
            switch role {
            case .leader: stepLeader(message)
            case .candidate, .preCandidate: stepCandidate(message)
            case .follower: stepFollower(message)
            }
        }
    }

    /// Compares the message's term with ours (Raft §5.1): steps down for a newer term,
    /// answers or drops an older one. Returns whether the message should be processed.
    private mutating func handleTerm(of message: Message) -> Bool {
        if message.kind.isTermLess { return true }  // readIndex, transferLeader
        // Any other kind with term 0 would pass as one of the current term (validation
        // refuses it; this keeps the rule where it matters).
        guard message.term != 0 else { return false }
        if message.term > term {
            if message.kind == .vote || message.kind == .preVote {
                let forced = message.context == Message.campaignTransfer
                let inLease = configuration.checkQuorum && leader != noNode
                    && electionElapsed < configuration.electionTicks
                // While this node hears from a live leader it ignores would-be disruptors.
                if !forced && inLease { return false }
            }
            switch message.kind {
            case .preVote:
                break  // a pre-vote never changes our term
            case .preVoteResponse where !message.reject:
                break  // we bump the term when the pre-vote is won
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: noNode)
            }
            return true
        }
        if message.term < term {
            if (configuration.checkQuorum || configuration.preVote)
                && (message.kind == .heartbeat || message.kind == .append) {
                // A stale leader learns our term from this and steps down.
                send(Message(kind: .appendResponse, from: id, to: message.from))
            } else if message.kind == .preVote {
                var rejection = Message(kind: .preVoteResponse, from: id, to: message.from, term: term)
                rejection.reject = true
                send(rejection)
            }
            return false
        }
        return true
    }

    private mutating func handleVoteRequest(_ message: Message) {
        let responseKind: Message.Kind = message.kind == .vote ? .voteResponse : .preVoteResponse
        let canVote = vote == message.from
            || (vote == noNode && leader == noNode)
            || (message.kind == .preVote && message.term > term)
        if canVote && log.isUpToDate(lastIndex: message.index, term: message.logTerm) {
            // A grant carries the requested term, so the candidate counts it.
            send(Message(kind: responseKind, from: id, to: message.from, term: message.term))
            if message.kind == .vote {
                electionElapsed = 0
                // For `.vote`, canVote means vote == from, or no vote (and no leader) yet.
                precondition(vote == noNode || vote == message.from, "two votes in term \(term)")
                vote = message.from
            }
        } else {
            // At term 0 this node has never heard of an election; a rejection must carry a
            // term, and not answering is as safe as a lost message.
            guard term != 0 else { return }
            var rejection = Message(kind: responseKind, from: id, to: message.from, term: term)
            rejection.reject = true
            send(rejection)
        }
    }

    private mutating func stepCandidate(_ message: Message) {
        let myResponse: Message.Kind = role == .preCandidate ? .preVoteResponse : .voteResponse
        switch message.kind {
        case .append:
            becomeFollower(term: message.term, leader: message.from)
            handleAppend(message)
        case .heartbeat:
            becomeFollower(term: message.term, leader: message.from)
            handleHeartbeat(message)
        case .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            handleSnapshot(message)
        case myResponse:
            switch poll(message.from, granted: !message.reject) {
            case .won:
                if role == .preCandidate {
                    campaign(preVote: false, transfer: false)
                } else {
                    becomeLeader()
                    broadcastAppend()
                }
            case .lost:
                becomeFollower(term: term, leader: noNode)
            case .pending:
                break
            }
        default:
            break  // timeoutNow, readIndex … mean nothing to a candidate
        }
    }

    private mutating func stepFollower(_ message: Message) {
        switch message.kind {
        case .append:
            electionElapsed = 0
            leader = message.from
            handleAppend(message)
        case .heartbeat:
            electionElapsed = 0
            leader = message.from
            handleHeartbeat(message)
        case .snapshot:
            electionElapsed = 0
            leader = message.from
            handleSnapshot(message)
        case .transferLeader, .readIndex:
            // Forwarded to the leader when one is known, dropped otherwise.
            guard leader != noNode else { return }
            var forwarded = message
            forwarded.to = leader
            messages.append(forwarded)
        case .timeoutNow:
            // The leader chose us: campaign now, skipping pre-vote.
            hup(transfer: true)
        case .readIndexResponse:
            readStates.append(ReadState(index: message.index, context: message.context))
        default:
            break
        }
    }

    private mutating func stepLeader(_ message: Message) {
        switch message.kind {
        case .readIndex:
            handleReadIndexRequest(message)
            return
        case .transferLeader:
            handleTransferLeader(message)
            return
        default:
            break
        }
        guard tracker.progress[message.from] != nil else { return }  // not a member (any more); guards the `!` below
        tracker.progress[message.from]!.recentActive = true
        switch message.kind {
        case .appendResponse:
            handleAppendResponse(message)
        case .heartbeatResponse:
            handleHeartbeatResponse(message)
        default:
            break
        }
    }

    private mutating func handleTransferLeader(_ message: Message) {
        // `index` names the transferee; 0 is the form of earlier versions, where `from` did.
        let transferee = message.index == noNode ? message.from : message.index
        // Only a member (or this node, for its own operator) may ask.
        guard message.from == id || tracker.progress[message.from] != nil else { return }
        guard let progress = tracker.progress[transferee], !progress.isLearner else { return }
        if transferee == id || transferee == leadTransferee { return }
        leadTransferee = transferee
        electionElapsed = 0  // the transfer must finish within an election timeout
        if progress.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: id, to: transferee))
        } else {
            sendAppend(to: transferee)
        }
    }
}
