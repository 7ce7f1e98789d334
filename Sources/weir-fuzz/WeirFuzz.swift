import Foundation

/// `weir-fuzz`: the decoders of peer and disk bytes under libFuzzer, and the replay of
/// the saved inputs in the normal suite.
///
/// ```
/// weir-fuzz list                          the targets, one a line
/// weir-fuzz replay TARGET PATH...         runs TARGET on each file (or each file in each folder)
/// weir-fuzz replay-all ROOT...            runs every target on ROOT/<target>/ of each ROOT
/// weir-fuzz seed ROOT                     writes ROOT/corpus/<target>/seed-NN and ROOT/dict/<target>.dict
/// WEIR_FUZZ_TARGET=T weir-fuzz [libFuzzer flags] [CORPUS...]   fuzzes T (fuzz build only)
/// ```
@main
struct WeirFuzz {
    static func main() {
        if LibFuzzerDriver.isLinked && getenv("WEIR_FUZZ_TARGET") != nil {
            guard LibFuzzerDriver.target != nil else { fail("WEIR_FUZZ_TARGET is not one of: \(targetNames)") }
            exit(LibFuzzerDriver.run())
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "list": FuzzTarget.allCases.forEach { say($0.rawValue) }
            case "replay" where arguments.count >= 3: try replay(target(arguments[1]), paths: Array(arguments.dropFirst(2)))
            case "replay-all" where arguments.count >= 2: try replayAll(roots: Array(arguments.dropFirst()))
            case "seed" where arguments.count == 2: try seed(root: arguments[1])
            default: fail("usage: weir-fuzz list | replay TARGET PATH... | replay-all ROOT... | seed ROOT")
            }
        } catch {
            fail("\(error)")
        }
    }

    static var targetNames: String { FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ") }

    static func target(_ name: String) -> FuzzTarget {
        guard let target = FuzzTarget(rawValue: name) else { fail("unknown target '\(name)'; the targets are \(targetNames)") }
        return target
    }

    /// Runs `target` on every input under `paths`; a finding stops the process.
    static func replay(_ target: FuzzTarget, paths: [String]) throws {
        let files = try paths.flatMap(InputFiles.list)
        for file in files {
            // Printed first, so that the last line before a crash names the input.
            say("\(target.rawValue): \(file)")
            target.run(try InputFiles.read(file))
        }
        say("\(target.rawValue): \(files.count) inputs, no findings")
    }

    /// Every target on its folder under each root; a folder named after no target is an
    /// error (a misspelt folder would otherwise never be replayed).
    static func replayAll(roots: [String]) throws {
        for root in roots {
            for name in try InputFiles.folders(in: root) where FuzzTarget(rawValue: name) == nil {
                fail("\(root)/\(name) is named after no target; the targets are \(targetNames)")
            }
        }
        for target in FuzzTarget.allCases {
            let folders = roots.map { "\($0)/\(target.rawValue)" }.filter { FileManager.default.fileExists(atPath: $0) }
            try replay(target, paths: folders)
        }
    }

    /// Writes each target's seeds to ROOT/corpus/<target>/seed-NN, each checked by its
    /// target first (a seed the decoder refuses would be a wasted start), and for the JSON
    /// formats a libFuzzer dictionary of the seeds' strings to ROOT/dict/<target>.dict.
    static func seed(root: String) throws {
        for target in FuzzTarget.allCases {
            let folder = "\(root)/corpus/\(target.rawValue)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (number, bytes) in target.seeds.enumerated() {
                target.run(bytes)
                try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/seed-\(String(format: "%02d", number + 1))"))
            }
            say("\(target.rawValue): \(target.seeds.count) seeds in \(folder)")
            guard target.isJSON else { continue }
            try FileManager.default.createDirectory(atPath: "\(root)/dict", withIntermediateDirectories: true)
            let dictionary = FuzzDictionary.entries(fromJSON: target.seeds).joined(separator: "\n") + "\n"
            try Data(dictionary.utf8).write(to: URL(fileURLWithPath: "\(root)/dict/\(target.rawValue).dict"))
        }
    }

    /// Writes a line to standard output unbuffered: the last line before a crash names
    /// its input even when the output goes to a file.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("weir-fuzz: \(message)\n".utf8))
        exit(2)
    }
}
