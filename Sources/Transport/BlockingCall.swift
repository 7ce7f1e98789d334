import Foundation

/// Runs a blocking nng call on a thread of its own, so it never occupies one of the
/// cooperative pool's threads (two on this machine). Only for rare operations: closing
/// sockets and stopping aio at shutdown or on a membership change.
enum BlockingCall {
    static func run(_ name: String, _ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                body()
                continuation.resume()
            }
            thread.name = name
            thread.start()
        }
    }
}
