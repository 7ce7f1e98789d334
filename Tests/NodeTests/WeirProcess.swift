import Foundation
import Synchronization
import Testing

/// A `weir` process started from the debug build beside the test bundle, with its output
/// captured. Tests wait on its log lines with deadlines, never with bare sleeps.
final class WeirProcess: Sendable {
    let process: Process
    private let output = CapturedOutput()

    private final class CapturedOutput: Sendable {
        let text = Mutex("")
    }

    static var binary: URL {
        if let explicit = ProcessInfo.processInfo.environment["WEIR_BINARY"] { return URL(fileURLWithPath: explicit) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weir")
    }

    /// The key-encryption key file every test node shares (a node with peers needs one).
    static let sharedKEKFile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-test-kek-\(getpid()).key").path
        let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = WeirProcess.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("WEIR_") }
        env["WEIR_CLUSTER_KEK_FILE"] = WeirProcess.sharedKEKFile
        // No load balancer watches test nodes: stop at once on SIGTERM unless a test says otherwise.
        env["WEIR_DRAIN_LB_GRACE_MS"] = "0"
        env.merge(environment) { _, new in new }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    var log: String { output.text.withLock { $0 } }

    /// Waits until the log matches `pattern` and returns the first capture group.
    func awaitLog(_ pattern: String, within timeout: Duration = .seconds(30)) async throws -> String {
        let regex = try Regex(pattern)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let match = log.firstMatch(of: regex) {
                return match.output.count > 1 ? String(match.output[1].substring ?? "") : String(match.output[0].substring ?? "")
            }
            if !process.isRunning && log.firstMatch(of: regex) == nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("weir never logged /\(pattern)/; its output:\n\(log)")
        throw CancellationError()
    }

    /// Waits for the process to exit and returns its status.
    func awaitExit(within timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else {
            process.terminate()
            Issue.record("weir did not exit within \(timeout); its output:\n\(log)")
            throw CancellationError()
        }
        return process.terminationStatus
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
