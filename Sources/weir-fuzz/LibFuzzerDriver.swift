import Foundation

/// The bridge to libFuzzer, which the fuzz build links (`scripts/fuzz.sh`: `-sanitize=fuzzer`
/// and `-DWEIR_FUZZ`). SwiftPM links an executable with `--defsym main=<module>_main` on
/// Linux, so libFuzzer's own `main` is never the one that runs: `WeirFuzz.main` starts the
/// fuzzer itself through `LLVMFuzzerRunDriver`, with the command line as given.
enum LibFuzzerDriver {
    /// The target named by `WEIR_FUZZ_TARGET`, read once. libFuzzer calls back through a C
    /// function without context, and the processes it spawns (`-fork`, `-merge`,
    /// `-minimize_crash`) inherit the environment, not a parsed argument.
    static let target: FuzzTarget? = {
        guard let name = getenv("WEIR_FUZZ_TARGET") else { return nil }
        return FuzzTarget(rawValue: String(cString: name))
    }()

    /// Whether this binary was built with libFuzzer linked in.
    static var isLinked: Bool {
        #if WEIR_FUZZ
        true
        #else
        false
        #endif
    }

    /// Runs libFuzzer on `target` with this process's arguments until it stops; returns
    /// its exit status (non-zero once it has saved a crashing input).
    static func run() -> Int32 {
        #if WEIR_FUZZ
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput)
        #else
        preconditionFailure("libFuzzer is not linked: build with scripts/fuzz.sh")
        #endif
    }
}

#if WEIR_FUZZ
/// libFuzzer's driver (compiler-rt `FuzzerInterface.h`).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif

/// libFuzzer's per-input callback (its archive's `main` refers to it by this name, so the
/// fuzz build needs it defined even though the driver is handed it directly). Returns 0:
/// a finding stops the process instead.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = LibFuzzerDriver.target else { preconditionFailure("WEIR_FUZZ_TARGET names no fuzz target") }
    target.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
