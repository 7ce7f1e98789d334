import SeededRandom
import Consensus

extension RaftSimulator {
    var currentLeader: NodeID? {
        let leaders = nodes.filter { $0.value.raw.softState.role == .leader }
        return leaders.max { $0.value.raw.hardState.term < $1.value.raw.hardState.term }?.key
    }

    func injectFaults() {
        if chance(profile.partitionPerMille) { changePartitions() }
        if chance(profile.crashPerMille), let victim = nodes.keys.sorted().randomElement(using: &random) {
            crash(victim, powerLoss: chance(profile.powerLossPerMille))
        }
        if chance(profile.restartPerMille), let back = crashed.keys.sorted().randomElement(using: &random) {
            if removed.contains(back) { crashed[back] = nil } else { restart(back) }
        }
        if chance(profile.pausePerMille), let victim = nodes.keys.sorted().filter(isRunning).randomElement(using: &random) {
            // Longer than an election timeout as often as not (electionTicks is 10).
            pausedUntil[victim] = now + UInt64.random(in: 3...60, using: &random)
            counts.pauses += 1
        }
        if chance(limits.wipePerMille ?? profile.wipePerMille) { wipeADisk() }
        if chance(profile.membershipPerMille) { changeMembership() }
        if chance(profile.transferPerMille) { transferLeadership() }
    }

    /// Asks a random node, the leader or a follower that forwards the request, to hand
    /// leadership to a random voter.
    private func transferLeadership() {
        guard let asker = nodes.keys.sorted().filter(isRunning).randomElement(using: &random) else { return }
        let voters = nodes[asker]!.raw.status.configuration.voters
        guard let target = voters.randomElement(using: &random) else { return }
        if nodes[asker]!.raw.softState.role != .leader { counts.followerTransfers += 1 }
        nodes[asker]!.raw.transferLeadership(to: target)
    }

    /// A node loses its disk (a replaced drive): its process is gone and its storage with
    /// it. The remedy (`repairWipedNodes`) is the operator's: remove the member, then start
    /// it again with `--join`, which adds it as a learner with an empty log. One disk at a
    /// time, and never one whose loss leaves fewer than two voters with their data.
    private func wipeADisk() {
        guard wiped.isEmpty, let leader = currentLeader else { return }
        let configuration = nodes[leader]!.raw.status.configuration
        let candidates = configuration.members.filter {
            $0 != leader && stopAt[$0] == nil && (configuration.learners.contains($0) || configuration.voters.count >= 3)
        }
        guard let victim = candidates.sorted().randomElement(using: &random) else { return }
        let membership = nodes[victim]?.membership ?? configuration
        nodes[victim] = nil
        crashed[victim] = nil
        pausedUntil[victim] = nil
        network.forget(victim)
        forwards.removeAll { $0.to == victim || $0.from == victim }
        counts.wipes += 1
        if limits.unsafeAmnesia {
            // The bug the incarnation check prevents: back at once as itself, with nothing.
            start(victim, storage: MemoryStorage(bootstrap: membership))
        } else {
            wiped.insert(victim)
        }
    }

    /// The operator's remedy for a wiped node, step by step as the leader allows: propose
    /// its removal; once no member lists it (and a removed leader's stop has played out),
    /// add it back as a learner and start it with an empty log.
    func repairWipedNodes() {
        for id in wiped.sorted() {
            guard let leader = currentLeader, isRunning(leader) else { return }
            let configuration = nodes[leader]!.raw.status.configuration
            if configuration.members.contains(id) {
                try? nodes[leader]!.raw.proposeConfigurationChange(ConfigurationChange(.remove, node: id))
                continue
            }
            guard stopAt[id] == nil else { continue }
            do {
                try nodes[leader]!.raw.proposeConfigurationChange(ConfigurationChange(.addLearner, node: id))
            } catch {
                continue
            }
            wiped.remove(id)
            removed.remove(id)
            start(id, storage: MemoryStorage(bootstrap: ConfigurationState(
                voters: configuration.voters, learners: configuration.learners + [id])))
            counts.rejoins += 1
        }
    }

    private func changePartitions() {
        let ids = (Array(nodes.keys) + Array(crashed.keys)).sorted()
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            network.cut = []
        case 1:  // symmetric split
            let side = Set(ids.filter { _ in Bool.random(using: &random) })
            network.cut = Set(ids.flatMap { a in
                ids.filter { b in side.contains(a) != side.contains(b) }.map { SimulatedNetwork.Link(from: a, to: $0) }
            })
        case 2:  // asymmetric: some directed links fail
            network.cut = Set(ids.flatMap { a in
                ids.filter { b in a != b && Int.random(in: 0..<4, using: &random) == 0 }
                    .map { SimulatedNetwork.Link(from: a, to: $0) }
            })
        default:  // isolate one node
            if let lonely = ids.randomElement(using: &random) {
                network.cut = Set(ids.filter { $0 != lonely }.flatMap {
                    [SimulatedNetwork.Link(from: lonely, to: $0), SimulatedNetwork.Link(from: $0, to: lonely)]
                })
            }
        }
    }

    private func changeMembership() {
        guard let leader = currentLeader else { return }
        let status = nodes[leader]!.raw.status
        let configuration = status.configuration
        var options: [ConfigurationChange] = []
        if configuration.members.count < limits.nodesMax && nodes.count + crashed.count + wiped.count < limits.nodesMax {
            options.append(ConfigurationChange(.addLearner, node: nextNodeID))
        }
        for learner in configuration.learners where (status.progress[learner]?.match ?? 0) + 5 >= status.lastIndex {
            options.append(ConfigurationChange(.addVoter, node: learner))
        }
        if configuration.voters.count > 3 {
            options += configuration.voters.map { ConfigurationChange(.remove, node: $0) }
        }
        options += configuration.learners.map { ConfigurationChange(.remove, node: $0) }
        options.removeAll { wiped.contains($0.node) }  // the operator's remedy handles those
        guard let change = options.randomElement(using: &random) else { return }
        do {
            try nodes[leader]!.raw.proposeConfigurationChange(change)
        } catch {
            return  // refused (one at a time, a transfer …): fine, try again later
        }
        if change.kind == .addLearner {
            // The joining node is told the membership and starts with an empty log.
            var learners = configuration.learners
            learners.append(change.node)
            start(change.node, storage: MemoryStorage(bootstrap: ConfigurationState(voters: configuration.voters, learners: learners)))
            nextNodeID += 1
        }
    }

    /// A client request arrives at the leader, or at a follower that forwards it to the
    /// leader it knows, over the same lossy, delaying, partitioned network as Raft's own
    /// messages (the driver's forwarded proposals).
    func proposeClientRequests() {
        guard chance(profile.proposalPerMille) else { return }
        proposalCounter += 1
        var data: [UInt8] = []
        withUnsafeBytes(of: proposalCounter.bigEndian) { data.append(contentsOf: $0) }
        data += Array(repeating: UInt8(truncatingIfNeeded: proposalCounter), count: Int.random(in: 0...48, using: &random))
        if chance(profile.forwardPerMille) {
            guard let entry = nodes.keys.sorted().filter(isRunning).randomElement(using: &random) else { return }
            let leader = nodes[entry]!.raw.softState.leader
            if leader == entry {
                propose(data, on: entry)
            } else if leader != noNode {
                forward(data, from: entry, to: leader)
            }
        } else if let leader = currentLeader, isRunning(leader) {
            propose(data, on: leader)
        }
    }

    private func propose(_ data: [UInt8], on id: NodeID) {
        if (try? nodes[id]!.raw.propose(data)) != nil { pendingProposals[data] = id }
    }

    private func forward(_ data: [UInt8], from: NodeID, to: NodeID) {
        guard !network.cut.contains(SimulatedNetwork.Link(from: from, to: to)), !chance(network.lossPerMille) else { return }
        let copies = chance(network.duplicatePerMille) ? 2 : 1
        for _ in 0..<copies {
            let delay = network.delayTicksMax == 0 ? 0 : UInt64.random(in: 0...network.delayTicksMax, using: &random)
            forwards.append(Forward(deliverAt: now + delay, from: from, to: to, data: data))
        }
        counts.forwarded += 1
    }

    /// Forwarded proposals reach their node: a leader proposes them, anyone else drops them
    /// (the real follower's caller times out and retries). A paused node takes them later.
    func deliverForwards() {
        var waiting: [Forward] = []
        for forward in forwards {
            if forward.deliverAt > now {
                waiting.append(forward)
            } else if nodes[forward.to] == nil {
                continue  // the process is gone, and the request with it
            } else if !isRunning(forward.to) {
                waiting.append(forward)
            } else if nodes[forward.to]!.raw.softState.role == .leader {
                propose(forward.data, on: forward.to)
            }
        }
        forwards = waiting
    }

    /// A linearizable read begins at a random node: ReadIndex, answered in a later `Ready`
    /// (`checkRead`). It must see at least every entry applied anywhere before it began.
    func issueRead() {
        guard chance(profile.readPerMille), let reader = nodes.keys.sorted().filter(isRunning).randomElement(using: &random) else { return }
        readCounter += 1
        var context: [UInt8] = [0x52]
        withUnsafeBytes(of: readCounter.bigEndian) { context.append(contentsOf: $0) }
        pendingReads[context] = PendingRead(node: reader, floor: appliedAt.keys.max() ?? 0)
        if limits.unsafeLocalReads {
            let node = nodes[reader]!
            checkRead(ReadState(index: node.raw.hardState.commit, context: context), on: reader)
        } else {
            nodes[reader]!.raw.readIndex(context: context)
        }
    }

    /// Nodes snapshot their applied state now and then and drop the log behind it, so
    /// lagging and joining nodes must be caught up by snapshot.
    func compactLogs() {
        for id in nodes.keys.sorted() {
            guard var node = nodes[id], node.appliedSinceSnapshot >= profile.compactEveryEntries else { continue }
            let index = node.applied.index
            guard index > node.storage.currentSnapshot.metadata.index,
                  let last = try? node.storage.lastIndex(), index <= last else { continue }
            try! node.storage.createSnapshot(at: index, configuration: node.membership, data: node.applied.encodeForSnapshot(through: index))
            node.durableHardState = node.storage.hardState  // a synced write: the WAL before it is durable too
            // Keep a few entries behind the snapshot, as real nodes do for slow followers.
            let keep: UInt64 = 3
            if index > keep, let first = try? node.storage.firstIndex(), index - keep >= first {
                try! node.storage.compact(through: index - keep)
            }
            node.appliedSinceSnapshot = 0
            nodes[id] = node
        }
    }
}
