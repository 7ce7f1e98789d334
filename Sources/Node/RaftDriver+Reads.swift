import BinaryCoding
import Consensus

extension RaftDriver {
    struct ReadWaiter {
        var deadline: Int
        var continuation: CheckedContinuation<UInt64, any Error>
    }

    /// A linearizable read point (Raft's ReadIndex): the commit index the leader confirmed
    /// with a quorum after this call began. State applied up to it reflects every write
    /// acknowledged before the call. Throws `ProposalError.noLeader` or `.timedOut` (within
    /// the proposal timeout) when no leader confirms one.
    public func readIndex() async throws -> UInt64 {
        guard node.softState.leader != noNode else { throw ProposalError.noLeader }
        guard readWaiters.count < configuration.pendingProposalsMax else { throw ProposalError.tooManyPending }
        nextReadContext &+= 1
        let context = nextReadContext
        return try await withCheckedThrowingContinuation { continuation in
            readWaiters[context] = ReadWaiter(deadline: ticks + configuration.proposalTimeoutTicks, continuation: continuation)
            var bytes: [UInt8] = []
            bytes.appendBigEndian(configuration.nodeID)
            bytes.appendBigEndian(context)
            node.readIndex(context: bytes)
            requestReady()
        }
    }

    func resolveRead(_ state: ReadState) {
        var reader = ByteReader(state.context)
        guard reader.readUInt64() == configuration.nodeID, let context = reader.readUInt64(), reader.isAtEnd,
              let waiter = readWaiters.removeValue(forKey: context) else { return }
        waiter.continuation.resume(returning: state.index)
    }

    func expireReads() {
        for (context, waiter) in readWaiters where waiter.deadline <= ticks {
            readWaiters[context] = nil
            waiter.continuation.resume(throwing: ProposalError.timedOut)
        }
    }

    func failAllReads(_ error: ProposalError) {
        for waiter in readWaiters.values { waiter.continuation.resume(throwing: error) }
        readWaiters = [:]
    }

    /// The index of the last entry applied on this node.
    public var lastApplied: UInt64 { appliedIndex }
}
