import CMalloc
import Foundation
import Synchronization

/// Hands freed heap back to the kernel after the node dropped a large amount of it.
///
/// glibc keeps what `free` returns inside its arenas (one per thread group, up to eight
/// per core), and only the top of each arena shrinks by itself. A node that encoded a
/// policy snapshot, installed one, or took a burst of admin writes therefore kept hundreds
/// of megabytes it no longer used: 733 MB resident against 254 MB after a `malloc_trim`
/// (docs/benchmarks.md, "Policy at scale"). `soon()` is called after such a release; it
/// waits `delay` so that the callers' last buffers are gone, coalesces calls made
/// meanwhile into one, and trims on a thread of its own. Outside glibc it does nothing.
enum HeapTrim {
    /// How long after a release the trim runs.
    static let delay: Duration = .seconds(1)

    private static let pending = Atomic<Bool>(false)
    private static let trims = Atomic<Int>(0)

    /// How many trims have run in this process (for tests and the benchmark).
    static var count: Int { trims.load(ordering: .relaxed) }

    /// Trims at once, on the calling thread; true when memory went back to the kernel
    /// (always false outside glibc).
    @discardableResult
    static func now() -> Bool { weir_malloc_trim() == 1 }

    /// Schedules one trim `delay` from now, unless one is already scheduled.
    static func soon() {
        guard pending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        Task.detached(priority: .background) {
            try? await Task.sleep(for: delay)
            pending.store(false, ordering: .releasing)
            // On a thread of its own: the trim walks every arena under its lock (tens of
            // milliseconds for a large free heap) and must not hold a cooperative thread.
            Thread.detachNewThread {
                _ = now()
                trims.add(1, ordering: .relaxed)
            }
        }
    }
}
