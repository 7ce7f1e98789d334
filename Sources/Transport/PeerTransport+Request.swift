import Atomics
import Synchronization

extension PeerTransport {
    /// Sends a request to `peer` and waits for its reply (sent with `reply(to:...)`), at
    /// most `timeout` (default: `requestTimeoutMilliseconds`). Throws `TransportError`:
    /// `.timedOut`, `.notSent` when it could not be queued, `.tooManyPendingRequests`,
    /// `.shutDown`; or `CancellationError` when the calling task is cancelled.
    public func request(
        _ type: MessageType, _ payload: [UInt8], to peer: PeerID, timeout: Duration? = nil
    ) async throws -> Envelope {
        try await request(type, payload, to: peer, timeout: timeout, leaving: false)
    }

    /// `request`, or with `leaving` the goodbye of a draining transport.
    func request(
        _ type: MessageType, _ payload: [UInt8], to peer: PeerID, timeout: Duration?, leaving: Bool
    ) async throws -> Envelope {
        let deadline = timeout ?? .milliseconds(configuration.requestTimeoutMilliseconds)
        let correlation = nextCorrelation.wrappingIncrementThenLoad(ordering: .relaxed)
        return try await withThrowingTaskGroup(of: Envelope.self) { group in
            group.addTask {
                try await self.awaitReply(type, payload, to: peer, correlation: correlation, leaving: leaving)
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                self.counters.increment("request_timeouts")
                throw TransportError.timedOut(peer: peer, type: type)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func awaitReply(
        _ type: MessageType, _ payload: [UInt8], to peer: PeerID, correlation: UInt64, leaving: Bool
    ) async throws -> Envelope {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Envelope, any Error>) in
                // Registration and the cancellation check share the lock with `onCancel`,
                // so a cancellation can never slip between them and leave a waiter behind.
                let refusal = pending.withLock { pending -> (any Error)? in
                    if Task.isCancelled { return CancellationError() }
                    if pending.count >= configuration.pendingRequestsMax { return TransportError.tooManyPendingRequests }
                    pending[correlation] = PendingRequest(peer: peer, continuation: continuation)
                    return nil
                }
                if let refusal {
                    continuation.resume(throwing: refusal)
                    return
                }
                let outcome = sendFrame(
                    kind: .request, type: type, payload: payload, correlation: correlation, to: peer, leaving: leaving)
                if case let .dropped(reason) = outcome {
                    takePending(correlation)?.continuation.resume(throwing: TransportError.notSent(peer: peer, reason: reason))
                }
            }
        } onCancel: {
            takePending(correlation)?.continuation.resume(throwing: CancellationError())
        }
    }

    private func takePending(_ correlation: UInt64) -> PendingRequest? {
        pending.withLock { $0.removeValue(forKey: correlation) }
    }

    /// Resumes the request a response answers; a response nobody waits for (too late, or
    /// from a node the request did not go to) is counted and dropped.
    func completeRequest(_ frame: Frame) {
        let waiter = pending.withLock { pending -> PendingRequest? in
            guard let waiting = pending[frame.correlation], waiting.peer == frame.sender else { return nil }
            return pending.removeValue(forKey: frame.correlation)
        }
        guard let waiter else {
            counters.increment("late_responses")
            return
        }
        waiter.continuation.resume(returning: Envelope(
            sender: frame.sender, type: frame.type, payload: frame.payload, correlation: 0))
    }
}
