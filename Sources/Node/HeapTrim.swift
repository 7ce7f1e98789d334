#if canImport(Glibc)
import Glibc
#endif

/// Hands the allocator's free pages back to the system. Encoding or parsing a large
/// snapshot allocates hundreds of megabytes for a few seconds, spread over glibc's
/// per-thread arenas; once freed they stay in the process (a node that had taken a few
/// snapshots of 100k users held about 1 GB, of which 700 MB were free, measured with gdb),
/// until `malloc_trim(0)` returns them. Found with dlsym, since malloc.h is not in the
/// Glibc module; a no-op on other C libraries.
public enum HeapTrim {
    private typealias Trim = @convention(c) (Int) -> Int32

    /// Returns free heap pages to the system; costs a walk of the free lists (milliseconds).
    public static func returnFreePages() {
        #if canImport(Glibc)
        if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }
        #endif
    }
}
