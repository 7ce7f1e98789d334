import Consensus
import Logging
import Transport

/// The membership as a node sees it, with each member's peer address.
public struct MembershipView: Equatable, Sendable {
    public var voters: [UInt64]
    public var learners: [UInt64]
    public var addresses: [UInt64: String]
}

extension RaftDriver {
    /// The membership as of the last applied entry.
    public var membership: MembershipView {
        let configuration = node.status.configuration
        return MembershipView(voters: configuration.voters, learners: configuration.learners, addresses: addresses)
    }

    /// Proposes a membership change (forwarded to the leader from a follower) and returns
    /// its index once the leader has applied it. Throws `ProposalError`.
    public func proposeConfigurationChange(_ change: ConfigurationChange) async throws -> UInt64 {
        if node.softState.role == .leader {
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    let (index, term) = try appendChangeAsLeader(change)
                    addWaiter(.local(term: term, deadline: ticks + configuration.proposalTimeoutTicks, continuation: continuation), at: index, term: term)
                    requestReady()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return try await forward(ForwardedProposal.configurationChange(change))
    }

    func appendChangeAsLeader(_ change: ConfigurationChange) throws -> (UInt64, UInt64) {
        guard waiters.count < configuration.pendingProposalsMax else { throw ProposalError.tooManyPending }
        do {
            try node.proposeConfigurationChange(change)
        } catch let RaftError.notLeader(leader) {
            throw leader == noNode ? ProposalError.noLeader : ProposalError.refused("leadership moved to node \(leader)")
        } catch RaftError.configurationChangeInProgress {
            throw ProposalError.refused("another membership change is in progress; retry in a moment")
        } catch let RaftError.invalidConfigurationChange(reason) {
            throw ProposalError.refused(reason)
        } catch {
            throw ProposalError.refused("\(error)")
        }
        return (node.lastIndex, node.hardState.term)
    }

    /// On the leader: promotes a learner to voter once it has caught up — it acknowledges
    /// appends as they stream (`replicate` state) and its log is within
    /// `promotionLagEntriesMax` of ours — one change at a time. (Not `recentActive`:
    /// check-quorum clears it every election timeout, and a check that lands just after
    /// each clearing would never promote.)
    func promoteCaughtUpLearners() {
        guard configuration.promoteLearners, node.softState.role == .leader,
              ticks % configuration.promotionCheckTicks == 0 else { return }
        let status = node.status
        for learner in status.configuration.learners {
            guard let progress = status.progress[learner], progress.state == "replicate",
                  progress.match + UInt64(configuration.promotionLagEntriesMax) >= status.lastIndex
            else { continue }
            let context = Array((addresses[learner] ?? "").utf8)
            do {
                _ = try appendChangeAsLeader(ConfigurationChange(.addVoter, node: learner, context: context))
                logger.info("promoting caught-up learner", metadata: ["node": "\(learner)", "match": "\(progress.match)"])
                requestReady()
            } catch {
                logger.debug("learner promotion deferred", metadata: ["node": "\(learner)", "reason": "\(error)"])
            }
            return  // one change at a time
        }
    }

    /// Asks the leader (this node, or the one it knows) to hand leadership to `transferee`,
    /// a voter. The outcome shows in `status` once the transferee has won its election.
    public func transferLeadership(to transferee: UInt64) {
        node.transferLeadership(to: transferee)
        requestReady()
    }
}
