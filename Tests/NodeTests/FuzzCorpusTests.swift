import Foundation
import NodeTestSupport
import Testing

/// The fuzzers' saved inputs go through their decoders again in every run of the suite:
/// the plain debug build of `weir-fuzz` beside the test bundle replays each file under
/// `Tests/Fuzz/corpus/<target>/` and `Tests/Fuzz/crashes/<target>/` with the same checks
/// libFuzzer runs (scripts/fuzz.sh). A crash that the fuzzer saved fails here until the
/// decoder is fixed, and stays as a regression input afterwards.
@Suite struct FuzzCorpusTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz").path

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weir-fuzz").path
    }

    @Test func everySavedInputDecodesWithoutAFinding() throws {
        let corpus = Self.fuzzFolder + "/corpus"
        let targets = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") }.sorted()
        #expect(targets.count >= 11, "a corpus folder per fuzz target under \(corpus)")

        let (status, output) = try run([Self.binary, "replay-all", corpus, Self.fuzzFolder + "/crashes"])
        // The last input named before a crash is the one that crashed.
        #expect(status == 0, "weir-fuzz replay-all stopped with wait status \(status):\n\(output.suffix(4_000))")
        for target in targets {
            let summary = try #require(
                output.firstMatch(of: try Regex("(?m)^\(target): ([0-9]+) inputs, no findings$")), "no replay summary for \(target)")
            #expect((Int(summary.output[1].substring ?? "") ?? 0) > 0, "\(target) replayed no input")
        }
    }

    /// Runs `arguments` to the end and returns its raw wait status (0: exited with 0)
    /// and its output.
    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("weir-fuzz-replay-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var environment = ProcessInfo.processInfo.environment
        environment["WEIR_FUZZ_TARGET"] = nil
        // A trap's backtrace would take the Swift runtime's symbolicator seconds.
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let pid = try spawnLogged(arguments, environment: environment, output: output)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }
}
