import ArgumentParser
import Foundation
import Gateway
import Logging
import Node
import Policy
import Storage

/// What observing a request costs on its own: the DLP scan of a 4 KB prompt with every
/// built-in detector, and recording a usage event (the buffer append on the request path,
/// and the batched unsynced RocksDB write amortized per event), against the baseline of
/// decoding and encoding the same 4 KB request body, which every request pays anyway.
struct ObserveBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observe",
        abstract: "Per-request cost of the DLP scan (4 KB prompt) and of usage recording, against JSON handling of the same body.")

    @Option(help: "Iterations per measurement.") var iterations = 2_000

    static let prompt: String = {
        let sentence = "Please review the attached contract draft and list the obligations of each party in plain words. "
        let text = "Contact ann.lee@example.com, +1 415 555 0100, card 4111 1111 1111 1111, server 10.1.2.3. " + String(repeating: sentence, count: 40)
        return String(text.prefix(4096))
    }()

    func run() async throws {
        let body = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\#(Self.prompt)"}]}"#
        let bytes = Data(body.utf8)
        let json = measure { _ = try? JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: bytes)) }
        var found = 0
        let scan = measure { found = DLPScan.redactAll(Self.prompt) }
        var perDetector: [(String, Double)] = []
        for detector in DLPPolicy.Detector.allCases { perDetector.append((detector.rawValue, measure { _ = DLPScan.redactAll(Self.prompt, detectors: [detector]) })) }

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bench-usage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try Database(path: path, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let recorder = try UsageRecorder(database: database, nodeID: 1, logger: Logger(label: "bench"))
        let event = UsageEvent(
            time: 1_800_000_000_000, endpoint: "chat.completions", token: "tok_0123456789abcdef", principal: "agent:bench", user: "user:bench", app: "app:bench",
            organization: "org:bench", requestedModel: "gpt-4o-mini", model: "gpt-4o-mini", provider: "openai", credential: "key:openai:main",
            deployment: "openai-gpt-4o-mini", inputTokens: 1024, outputTokens: 16, microUSD: 163, unpriced: false, status: 200, errorCode: nil,
            stream: false, latencyMicroseconds: 5_000, attempts: 1, redactions: 4)
        let append = measure { recorder.record(event) }
        var written = 0
        let flushStart = ContinuousClock.now
        written = try recorder.flush()
        let flushPerEvent = micro(ContinuousClock.now - flushStart) / Double(max(written, 1))

        print("weir-bench observe: \(iterations) iterations, a \(Self.prompt.utf8.count)-byte prompt (\(found) values found)")
        print("")
        print("| per request | µs | × baseline |")
        print("|---|---|---|")
        print(String(format: "| decode and encode the 4 KB body (baseline) | %.1f | 1.00 |", json))
        print(String(format: "| DLP scan, every built-in detector | %.1f | %.2f |", scan, scan / json))
        for (name, cost) in perDetector { print(String(format: "| — %@ alone | %.1f | %.2f |", name, cost, cost / json)) }
        print(String(format: "| usage event: append on the request path | %.2f | %.3f |", append, append / json))
        print(String(format: "| usage event: batched write, per event | %.2f | %.3f |", flushPerEvent, flushPerEvent / json))
    }

    private func measure(_ body: () -> Void) -> Double {
        for _ in 0..<100 { body() }
        let start = ContinuousClock.now
        for _ in 0..<iterations { body() }
        return micro(ContinuousClock.now - start) / Double(iterations)
    }

    private func micro(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
}
