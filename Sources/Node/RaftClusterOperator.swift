import Consensus
import Foundation
import Gateway
import HTTPTypes
import QuotaCRDT

/// The cluster routes' view of Raft: join, remove and status through the driver.
struct RaftClusterOperator: ClusterOperator {
    let driver: RaftDriver
    let machine: NodeStateMachine
    let quota: QuotaService?
    /// How long to wait for this node to apply a change the leader has committed.
    static let localApplyWaitMilliseconds = 5_000

    enum Failure: ClusterOperationFailure {
        case notMember(UInt64)
        case notApplied
        /// A node asks to join under the id of a voter from another data directory than the
        /// one recorded (or none is): it has lost that voter's log and votes.
        case replaced(UInt64, known: Incarnation?, asking: Incarnation?)
        /// The join's `incarnation` is not 32 hex digits.
        case unreadableIncarnation
        /// The joining node's build applies fewer kinds of entries than the cluster proposes.
        case belowClusterLevel(UInt64, level: UInt16, cluster: UInt16)
        var description: String {
            switch self {
            case .unreadableIncarnation: "incarnation must be 32 hex digits (the joining node's data directory id)"
            case let .belowClusterLevel(id, level, cluster):
                "node \(id) runs a build of entry level \(level), but the cluster is at level \(cluster) and proposes entries that build "
                    + "cannot apply: start node \(id) with this cluster's version of weir (`weir version`), then join again"
            case let .notMember(id): "node \(id) is not a member of the cluster"
            case .notApplied: "the change committed but this node has not applied it yet; retry"
            case let .replaced(id, known, asking):
                "node \(id) is already a voter of this cluster"
                    + (known.map { ", from the data directory with incarnation \($0)" } ?? ", from a data directory the cluster has no record of")
                    + "; the node asking " + (asking.map { "runs from another one (\($0))" } ?? "sent no incarnation")
                    + ", so it may have lost that voter's log and votes. Run `clusterctl remove \(id)` against a running node, then start "
                    + "this node again with --join: it rejoins as a learner and is promoted once caught up"
            }
        }

        var clientStatus: HTTPResponse.Status? {
            switch self {
            case .notMember: .notFound
            case .replaced, .belowClusterLevel: .conflict
            case .unreadableIncarnation: .badRequest
            case .notApplied: nil
            }
        }
    }

    /// Adds `nodeID` as a learner, recording `incarnation` first. A voter may only come back
    /// from the incarnation the cluster recorded for it (a node that lost the first answer
    /// asks again from the same one); anything else is a node whose disk was wiped or
    /// replaced, and it is refused. A learner has no vote: a new directory under its id is
    /// recorded and catches up. Without an incarnation (the admin API, a node of an
    /// earlier version) a member gets the membership as it is.
    func join(nodeID: UInt64, peerAddress: String, incarnation hex: String?, entryLevel: UInt16?) async throws -> ClusterMembership {
        let incarnation = try hex.map { hex throws(Failure) in
            guard let parsed = Incarnation(hex: hex) else { throw .unreadableIncarnation }
            return parsed
        }
        try await catchUp()
        // A build of a level below the cluster's could not apply what the leader proposes.
        // A join that states no level comes from the operator's API (the level is recorded
        // once the node runs) or from a build before levels (level 3).
        let level = entryLevel ?? NodeStateMachine.levelWithoutRecord
        let cluster = machine.clusterLevel
        if level < cluster, entryLevel != nil || hex != nil { throw Failure.belowClusterLevel(nodeID, level: level, cluster: cluster) }
        let current = await driver.membership
        let recorded = machine.incarnation(of: nodeID)
        if current.voters.contains(nodeID) {
            guard let incarnation else { return Self.view(current) }
            guard recorded == incarnation else { throw Failure.replaced(nodeID, known: recorded, asking: incarnation) }
            return Self.view(current)
        }
        if current.learners.contains(nodeID) {
            if let incarnation, recorded != incarnation { try await recordUnlessTooNew(nodeID, incarnation) }
            return Self.view(current)
        }
        if let incarnation { try await recordUnlessTooNew(nodeID, incarnation) }
        _ = try await driver.proposeConfigurationChange(
            ConfigurationChange(.addLearner, node: nodeID, context: Array(peerAddress.utf8)))
        return try await awaitMembership { $0.learners.contains(nodeID) || $0.voters.contains(nodeID) }
    }

    /// `record`, except that a leader of an earlier version (a rolling upgrade under way),
    /// which refuses the entry kind, lets the join go on without it.
    private func recordUnlessTooNew(_ node: UInt64, _ incarnation: Incarnation) async throws {
        do {
            try await record(node, incarnation)
        } catch let ProposalError.refused(reason) where reason.contains("newer version") {
            return
        }
    }

    /// Records that `node` runs a build of entry level `level`.
    func recordLevel(_ node: UInt64, _ level: UInt16) async throws {
        _ = try await driver.propose(NodeStateMachine.memberLevelEntry(node: node, level: level))
    }

    /// Records that `node` runs from the data directory `incarnation`.
    func record(_ node: UInt64, _ incarnation: Incarnation) async throws {
        _ = try await driver.propose(NodeStateMachine.memberIncarnationEntry(node: node, incarnation: incarnation))
    }

    /// Waits until this node has applied everything committed before the call (ReadIndex),
    /// so what it reads of the state is the cluster's latest.
    func catchUp() async throws {
        let index = try await driver.readIndex()
        guard await machine.policy.waitApplied(index, timeout: .milliseconds(Self.localApplyWaitMilliseconds)) else { throw Failure.notApplied }
    }

    func remove(nodeID: UInt64) async throws -> ClusterMembership {
        try await remove(nodeID: nodeID, reassigningRights: true)
    }

    /// Removes `nodeID`; with `reassigningRights`, what it held unused goes to the voters.
    /// A draining node removes itself without: it has handed its rights back already, and
    /// once out of the group it could not propose the reassignment anyway (the drain
    /// succeeded and then reported a failure).
    func remove(nodeID: UInt64, reassigningRights: Bool) async throws -> ClusterMembership {
        let current = await driver.membership
        guard current.voters.contains(nodeID) || current.learners.contains(nodeID) else { throw Failure.notMember(nodeID) }
        _ = try await driver.proposeConfigurationChange(ConfigurationChange(.remove, node: nodeID))
        let membership = try await awaitMembership { !$0.learners.contains(nodeID) && !$0.voters.contains(nodeID) }
        if reassigningRights { try await reassignQuotaRights(of: nodeID, to: membership.voters) }
        return membership
    }

    /// A member removed by force cannot hand its quota rights back: the unused rights this
    /// node knows it holds go to the remaining voters through the log.
    private func reassignQuotaRights(of nodeID: UInt64, to voters: [UInt64]) async throws {
        guard let quota else { return }
        let updates = quota.reassignment(of: nodeID, to: voters)
        for start in stride(from: 0, to: updates.count, by: Self.reassignmentWindowsPerEntry) {
            let part = Array(updates[start..<min(start + Self.reassignmentWindowsPerEntry, updates.count)])
            _ = try await driver.propose(NodeStateMachine.quotaReassignmentEntry(part))
        }
    }

    /// Windows per reassignment entry, at most (an entry stays far below the peer message limit).
    static let reassignmentWindowsPerEntry = 256

    func status() async -> ClusterStatus {
        let status = await driver.status
        let canaries = machine.canarySummary
        return ClusterStatus(
            node_id: status.id, role: status.softState.role.rawValue, leader: status.softState.leader,
            term: status.hardState.term, commit: status.hardState.commit, applied: status.applied,
            snapshot_index: await driver.snapshotIndex, membership: Self.view(await driver.membership),
            canaries: CanarySummary(
                count: canaries.count, digest: canaries.digest.map { String(format: "%02x", $0) }.joined(),
                last_index: canaries.lastIndex),
            quota_split: machine.quotaSchedule.entries.map {
                let pooled = $0.voters == [QuotaLedger.poolMember]
                return QuotaSplit(effective_from_ms: $0.effectiveFrom == .min ? nil : $0.effectiveFrom, voters: pooled ? [] : $0.voters, pooled: pooled)
            },
            incarnations: Dictionary(uniqueKeysWithValues: machine.recordedIncarnations.map { (String($0.key), $0.value.hex) }),
            snapshot_transfers: await driver.snapshotTransfers,
            entry_levels: Dictionary(uniqueKeysWithValues: machine.recordedLevels.map { (String($0.key), $0.value) }),
            cluster_entry_level: machine.clusterLevel, entry_level: NodeStateMachine.entryLevel)
    }

    func canary() async throws -> CanaryResult {
        let nonce = UInt64.random(in: 1...UInt64.max)
        let clock = ContinuousClock()
        let start = clock.now
        let index = try await driver.propose(NodeStateMachine.canaryEntry(nonce: nonce))
        let elapsed = clock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return CanaryResult(index: index, nonce: nonce, latency_ms: milliseconds)
    }

    func canary(at index: UInt64) async -> UInt64? { machine.canary(at: index) }

    /// The change committed on the leader; wait until this node has applied it too.
    private func awaitMembership(_ condition: (MembershipView) -> Bool) async throws -> ClusterMembership {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Self.localApplyWaitMilliseconds))
        while ContinuousClock.now < deadline {
            let membership = await driver.membership
            if condition(membership) { return Self.view(membership) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Failure.notApplied
    }

    static func view(_ membership: MembershipView) -> ClusterMembership {
        ClusterMembership(
            voters: membership.voters, learners: membership.learners,
            addresses: Dictionary(uniqueKeysWithValues: membership.addresses.map { (String($0.key), $0.value) }))
    }
}
