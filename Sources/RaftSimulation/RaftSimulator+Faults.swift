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
            crash(victim)
        }
        if chance(profile.restartPerMille), let back = crashed.keys.sorted().randomElement(using: &random) {
            if removed.contains(back) { crashed[back] = nil } else { restart(back) }
        }
        if chance(profile.membershipPerMille) { changeMembership() }
        if chance(profile.transferPerMille), let leader = currentLeader {
            let voters = nodes[leader]!.raw.status.configuration.voters.filter { $0 != leader }
            if let target = voters.randomElement(using: &random) {
                nodes[leader]!.raw.transferLeadership(to: target)
            }
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
        if configuration.members.count < limits.nodesMax && nodes.count + crashed.count < limits.nodesMax {
            options.append(ConfigurationChange(.addLearner, node: nextNodeID))
        }
        for learner in configuration.learners where (status.progress[learner]?.match ?? 0) + 5 >= status.lastIndex {
            options.append(ConfigurationChange(.addVoter, node: learner))
        }
        if configuration.voters.count > 3 {
            options += configuration.voters.map { ConfigurationChange(.remove, node: $0) }
        }
        options += configuration.learners.map { ConfigurationChange(.remove, node: $0) }
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

    func proposeClientRequests() {
        guard chance(profile.proposalPerMille), let leader = currentLeader else { return }
        proposalCounter += 1
        var data: [UInt8] = []
        withUnsafeBytes(of: proposalCounter.bigEndian) { data.append(contentsOf: $0) }
        data += Array(repeating: UInt8(truncatingIfNeeded: proposalCounter), count: Int.random(in: 0...48, using: &random))
        if (try? nodes[leader]!.raw.propose(data)) != nil {
            pendingProposals[data] = leader
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
