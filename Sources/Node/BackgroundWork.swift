import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Long CPU work that must yield to the Raft thread and the data plane: encoding a
/// snapshot, checking one a leader streamed, returning the allocator's free pages.
///
/// On a small machine every node of a cluster reaches the same log index together and
/// encodes its snapshot at once (seconds of JSON each, at 100k users). On the shared
/// cooperative pool that work competed as an equal with the Raft threads, and a Raft
/// thread that waited past an election timeout for a core cost an election (two in one
/// `weir-bench policy` run, with 21 writes refused). Each piece of work here runs on a
/// thread of its own at nice 19 (Linux keeps nice per thread), so the scheduler runs it
/// only on time the other threads leave.
enum BackgroundWork {
    /// The nice value of a background thread (the lowest priority).
    static let niceness: Int32 = 19

    /// `work`'s result, computed on a new low-priority thread.
    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                #if canImport(Glibc)
                // who 0 is the calling thread: on Linux the nice value belongs to a thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                #endif
                continuation.resume(returning: work())
            }
            thread.name = "weir-background"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
