import Consensus

extension RaftSimulator {
    /// Election safety: at most one leader per term, ever.
    func checkOneLeaderPerTerm() {
        for (id, node) in nodes where node.raw.softState.role == .leader {
            let term = node.raw.hardState.term
            if let other = leaderOfTerm[term], other != id {
                violate("two leaders in term \(term): \(other) and \(id)")
            }
            leaderOfTerm[term] = id
        }
    }

    /// Log matching: two persisted entries with the same index and term are the same
    /// entry, and are preceded by entries of the same term.
    func checkLogMatching(_ entries: [Entry], on id: NodeID, storage: MemoryStorage) {
        guard let first = entries.first else { return }
        var previousTerm: UInt64? = try? storage.term(first.index - 1)
        for entry in entries {
            let fingerprint = Fingerprint(term: entry.term, kind: entry.kind, data: entry.data)
            if let known = persisted[entry.index]?[entry.term], known != fingerprint {
                violate("log matching: node \(id) persisted a different entry at index \(entry.index) term \(entry.term)")
            }
            persisted[entry.index, default: [:]][entry.term] = fingerprint
            if let previousTerm {
                if let known = predecessorTerm[entry.index]?[entry.term], known != previousTerm {
                    violate("log matching: entry \(entry.index)/\(entry.term) on node \(id) follows term \(previousTerm), elsewhere \(known)")
                }
                predecessorTerm[entry.index, default: [:]][entry.term] = previousTerm
            }
            previousTerm = entry.term
        }
    }

    /// A snapshot may only hold what was committed.
    func checkSnapshot(_ snapshot: Snapshot, on id: NodeID, applied: AppliedLog) {
        for (index, data) in applied.entries {
            if let known = appliedAt[index], known.data != data {
                violate("node \(id) installed a snapshot whose entry \(index) differs from the committed one")
            }
        }
    }

    /// Leader completeness: a new leader's log holds every entry applied anywhere.
    func checkLeaderCompleteness(_ id: NodeID, node: SimNode) {
        guard let committed = appliedAt.keys.max() else { return }
        if node.raw.lastIndex < committed {
            violate("leader \(id) of term \(node.raw.hardState.term) ends at \(node.raw.lastIndex), before committed \(committed)")
            return
        }
        let first = max((try? node.storage.firstIndex()) ?? 1, committed > 200 ? committed - 200 : 1)
        guard first <= committed else { return }  // everything committed is in its snapshot
        for index in first...committed {
            guard let term = node.raw.term(at: index), let known = appliedAt[index] else { continue }
            if term != known.term {
                violate("leader \(id) has term \(term) at committed index \(index), committed with term \(known.term)")
            }
        }
    }

    /// The leader, once every member runs, agrees and has applied everything.
    func convergedLeader() -> NodeID? {
        guard let leader = currentLeader, let node = nodes[leader] else { return nil }
        let hard = node.raw.hardState
        guard hard.commit == node.raw.lastIndex, node.raw.term(at: hard.commit) == hard.term else { return nil }
        for member in node.raw.status.configuration.members {
            guard let other = nodes[member], other.applied.index == hard.commit,
                  other.raw.softState.leader == leader else { return nil }
        }
        return leader
    }

    /// Every proposal acknowledged as committed is applied on every member, at its index.
    func checkAcknowledged(leader: NodeID) {
        let members = nodes[leader]!.raw.status.configuration.members
        for (index, data) in acknowledged {
            for member in members where nodes[member]!.applied.entries[index] != data {
                violate("acknowledged entry \(index) is missing or different on node \(member)")
            }
        }
        let reference = nodes[leader]!.applied.entries
        for member in members where nodes[member]!.applied.entries != reference {
            violate("node \(member) applied a different sequence from leader \(leader)")
        }
    }

    func describeState() -> String {
        nodes.keys.sorted().map { id in
            let node = nodes[id]!
            return "\(id):\(node.raw.softState.role.rawValue) term=\(node.raw.hardState.term) "
                + "commit=\(node.raw.hardState.commit) last=\(node.raw.lastIndex) applied=\(node.applied.index) "
                + "voters=\(node.raw.status.configuration.voters) learners=\(node.raw.status.configuration.learners)"
        }.joined(separator: "; ") + (crashed.isEmpty ? "" : "; crashed=\(crashed.keys.sorted())")
    }
}
