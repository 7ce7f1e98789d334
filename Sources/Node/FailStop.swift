import Foundation
import Logging

/// A disk that fails a write durability depends on (a Raft record: entries, term and
/// vote, snapshot metadata, written as one batch) stops the node at once: nothing more is
/// sent, acknowledged or applied, so no promise rests on state that may not be on disk. This is fail-stop, as etcd and
/// PostgreSQL do on a failed fsync, and a clean exit rather than a crash: the operator's
/// supervisor restarts the node once the disk works, and it recovers from what is durable
/// (docs/reliability.md, "A disk that fails").
enum FailStop {
    /// The exit status: sysexits' EX_IOERR.
    static let exitCode: Int32 = 74

    static func diskFailed(_ what: String, _ error: any Error, logger: Logger) -> Never {
        logger.critical("the disk failed: this node stops at once; restart it when the disk works", metadata: [
            "what": "\(what)", "error": "\(error)", "exit_status": "\(exitCode)",
        ])
        fflush(nil)  // every open output stream: the log line above is the operator's only clue
        _exit(exitCode)
    }
}
