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
        var description: String {
            switch self {
            case let .notMember(id): "node \(id) is not a member of the cluster"
            case .notApplied: "the change committed but this node has not applied it yet; retry"
            }
        }

        var clientStatus: HTTPResponse.Status? { if case .notMember = self { .notFound } else { nil } }
    }

    func join(nodeID: UInt64, peerAddress: String) async throws -> ClusterMembership {
        let current = await driver.membership
        // A joining node that lost our answer asks again: answer the same.
        if current.voters.contains(nodeID) || current.learners.contains(nodeID) { return Self.view(current) }
        _ = try await driver.proposeConfigurationChange(
            ConfigurationChange(.addLearner, node: nodeID, context: Array(peerAddress.utf8)))
        return try await awaitMembership { $0.learners.contains(nodeID) || $0.voters.contains(nodeID) }
    }

    func remove(nodeID: UInt64) async throws -> ClusterMembership {
        let current = await driver.membership
        guard current.voters.contains(nodeID) || current.learners.contains(nodeID) else { throw Failure.notMember(nodeID) }
        _ = try await driver.proposeConfigurationChange(ConfigurationChange(.remove, node: nodeID))
        let membership = try await awaitMembership { !$0.learners.contains(nodeID) && !$0.voters.contains(nodeID) }
        try await reassignQuotaRights(of: nodeID, to: membership.voters)
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
                QuotaSplit(effective_from_ms: $0.effectiveFrom == .min ? nil : $0.effectiveFrom, voters: $0.voters)
            })
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
