import DequeModule
import Synchronization

/// The bounded buffer between nng's receive callback and the single consumer of
/// `PeerTransport.messages`.
///
/// Back-pressure instead of loss: when the buffer reaches `capacity`, the receive loop
/// stops re-arming nng's receive; the consumer re-arms it once it has drained the buffer to
/// half (`next` tells it to). TCP flow control then slows the sender, whose own queue
/// drops (and counts) what it cannot hold.
final class Inbox: Sendable {
    private struct State {
        var buffer = Deque<Envelope>()
        var waiter: CheckedContinuation<Envelope?, Never>?
        var paused = false
        var finished = false
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 2)
        self.capacity = capacity
    }

    /// Hands `envelope` to the consumer. Returns true when the receive loop may read the
    /// next message now, false when it must pause until the consumer drains.
    func deliver(_ envelope: Envelope) -> Bool {
        let (waiter, keepReading) = state.withLock { s -> (CheckedContinuation<Envelope?, Never>?, Bool) in
            if s.finished { return (nil, false) }
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, true)
            }
            s.buffer.append(envelope)
            if s.buffer.count >= capacity { s.paused = true }
            return (nil, !s.paused)
        }
        waiter?.resume(returning: envelope)
        return keepReading
    }

    /// Ends the sequence: the consumer gets what is buffered, then nil.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Envelope?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.buffer.isEmpty ? s.waiter : nil
        }
        waiter?.resume(returning: nil)
    }

    /// Every buffered envelope up to `limit` (waiting for the first one), or an empty array
    /// once finished and drained or when the task is cancelled. Lets a consumer handle a
    /// burst in one go (the Raft driver then persists it with one synced write).
    func nextBatch(limit: Int, resumeReading: () -> Void) async -> [Envelope] {
        precondition(limit > 0)
        guard let first = await next(resumeReading: resumeReading) else { return [] }
        var batch = [first]
        let rest = state.withLock { s -> (envelopes: [Envelope], resume: Bool) in
            var taken: [Envelope] = []
            while taken.count < limit - 1, let envelope = s.buffer.popFirst() { taken.append(envelope) }
            let resume = s.paused && !s.finished && s.buffer.count <= capacity / 2
            if resume { s.paused = false }
            return (taken, resume)
        }
        if rest.resume { resumeReading() }
        batch += rest.envelopes
        return batch
    }

    /// The next envelope, or nil once finished and drained (or when the task is cancelled).
    /// `resumeReading` is called when a paused receive loop must be re-armed.
    func next(resumeReading: () -> Void) async -> Envelope? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Envelope?, Never>) in
                enum Step { case value(Envelope, rearm: Bool), end, wait }
                let step = state.withLock { s -> Step in
                    if let first = s.buffer.popFirst() {
                        let resume = s.paused && !s.finished && s.buffer.count <= capacity / 2
                        if resume { s.paused = false }
                        return .value(first, rearm: resume)
                    }
                    if s.finished || Task.isCancelled { return .end }
                    precondition(s.waiter == nil, "PeerTransport.messages supports one consumer")
                    s.waiter = continuation
                    return .wait
                }
                switch step {
                case let .value(envelope, rearm: resume):
                    if resume { resumeReading() }
                    continuation.resume(returning: envelope)
                case .end:
                    continuation.resume(returning: nil)
                case .wait:
                    break
                }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
