import Foundation

/// The Python interpreter with the pinned test packages (`make test` fills `.venv`).
public enum TestPython {
    public static let missing = "no Python with the test packages: run `make test` (it runs scripts/python-env.sh), or set WEIR_PYTHON"

    public static func interpreter() -> String? {
        if let explicit = ProcessInfo.processInfo.environment["WEIR_PYTHON"], FileManager.default.isExecutableFile(atPath: explicit) { return explicit }
        // The package root, from this file's place in Sources/NodeTestSupport.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// `run` on a thread of its own: waiting for a long child process must not hold one of
    /// the few cooperative threads that an in-process server (a mockllm) needs meanwhile.
    public static func runDetached(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try run(executable, arguments) }) }
        }
    }

    public static func run(_ python: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
