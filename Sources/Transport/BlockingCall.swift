import Dispatch
import Foundation
import Synchronization

/// Runs a blocking nng call on a thread of its own, so it never occupies one of the
/// cooperative pool's threads (two on this machine). Only for rare operations: closing
/// sockets and stopping aio at shutdown or on a membership change.
enum BlockingCall {
    /// Runs `body` and waits for it at most `timeout`. Returns false when the deadline
    /// passed first: the thread is left to finish (or hang) on its own. nng 1.5.2 can hang
    /// in `nng_close` (shutdown races fixed upstream later); a deadline keeps a node's
    /// shutdown from hanging with it.
    @discardableResult
    static func run(_ name: String, timeout: Duration = .seconds(5), _ body: @escaping @Sendable () -> Void) async -> Bool {
        let slot = ResumeOnce()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            slot.store(continuation)
            let thread = Thread {
                body()
                slot.resume(true)
            }
            thread.name = name
            thread.start()
            let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { slot.resume(false) }
        }
    }

    /// A continuation resumed by whichever comes first.
    private final class ResumeOnce: Sendable {
        private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

        func store(_ value: CheckedContinuation<Bool, Never>) { continuation.withLock { $0 = value } }

        func resume(_ value: Bool) {
            let waiting = continuation.withLock { slot -> CheckedContinuation<Bool, Never>? in
                defer { slot = nil }
                return slot
            }
            waiting?.resume(returning: value)
        }
    }
}
