import Foundation
import Testing
@testable import Consensus
import RaftSimulation

/// Runs a scripted interaction test: blocks of a command, a `----` line and the expected
/// output, separated by blank lines; `#` starts a comment. With `WEIR_REWRITE_SCRIPTS=1`
/// the file is rewritten with the actual output instead of compared.
///
/// Commands: `create voters=1,2,3 [learners=4] [prevote=false] [checkquorum=false]`,
/// `campaign N`, `propose N DATA`, `stabilize`, `deliver`, `process-ready`, `tick N [count=K]`,
/// `tick-all [count=K]`, `partition A,B` (cuts those from the rest), `isolate N`, `heal`,
/// `drop KIND` (drop every message of that kind until `heal`), `status`, `log N`,
/// `transfer N to=M`, `add-learner N node=M`, `add-voter N node=M`, `remove N node=M`,
/// `read-index N CTX`, `compact N`, `join N voters=… learners=…`, `stop N`, `restart N`.
final class ScriptRunner {
    let path: String
    private var cluster = RaftCluster(voters: [1])
    private var lines: [String] = []

    init(path: String) { self.path = path }

    func run() throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let rewrite = ProcessInfo.processInfo.environment["WEIR_REWRITE_SCRIPTS"] == "1"
        var rewritten: [String] = []
        var blocks = text.components(separatedBy: "\n").makeIterator()
        var pendingComments: [String] = []
        while let line = blocks.next() {
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty {
                if line.hasPrefix("#") { pendingComments.append(line) }
                continue
            }
            let command = line
            guard blocks.next() == "----" else {
                Issue.record("\(path): expected ---- after '\(command)'")
                return
            }
            var expected: [String] = []
            while let out = blocks.next(), !out.isEmpty { expected.append(out) }
            let actual = execute(command)
            if rewrite {
                rewritten += pendingComments + [command, "----"] + actual + [""]
            } else if actual != expected {
                Issue.record("""
                    \(URL(fileURLWithPath: path).lastPathComponent): '\(command)'
                    expected:
                    \(expected.joined(separator: "\n"))
                    actual:
                    \(actual.joined(separator: "\n"))
                    (WEIR_REWRITE_SCRIPTS=1 swift test --filter ScriptedInteractionTests rewrites the file)
                    """)
            }
            pendingComments = []
        }
        if rewrite { try rewritten.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8) }
    }

    private func execute(_ command: String) -> [String] {
        let words = command.split(separator: " ").map(String.init)
        var arguments: [String: String] = [:]
        var positional: [String] = []
        for word in words.dropFirst() {
            if let equals = word.firstIndex(of: "=") {
                arguments[String(word[..<equals])] = String(word[word.index(after: equals)...])
            } else {
                positional.append(word)
            }
        }
        let first = positional.first.flatMap { UInt64($0) } ?? 0
        lines = []
        cluster.trace = { [unowned self] line in self.lines.append(line) }
        switch words[0] {
        case "create":
            let voters = ids(arguments["voters"])
            let learners = ids(arguments["learners"])
            let preVote = arguments["prevote"] != "false"
            let checkQuorum = arguments["checkquorum"] != "false"
            cluster = RaftCluster(voters: voters) {
                $0.preVote = preVote
                $0.checkQuorum = checkQuorum
            }
            cluster.trace = { [unowned self] line in self.lines.append(line) }
            for learner in learners {
                cluster.addJoiningNode(learner, membership: ConfigurationState(voters: voters, learners: learners))
            }
            return ["ok"]
        case "campaign":
            cluster.withNode(first) { $0.campaign() }
            return ["ok"]
        case "propose":
            return attempt { try $0.withNode(first) { try $0.propose(Array(positional[1].utf8)) } }
        case "stabilize":
            cluster.stabilize()
        case "deliver":
            cluster.deliverAll()
        case "process-ready":
            for id in cluster.nodes.keys.sorted() { cluster.processReady(id) }
        case "tick":
            for _ in 0..<(Int(arguments["count"] ?? "1") ?? 1) { cluster.tick(first) }
            return ["ok"]
        case "tick-all":
            for _ in 0..<(Int(arguments["count"] ?? "1") ?? 1) { cluster.tickAll() }
            return ["ok"]
        case "partition":
            cluster.partition(Set(ids(positional.first)))
            return ["ok"]
        case "isolate":
            cluster.partition([first])
            return ["ok"]
        case "heal":
            cluster.heal()
            return ["ok"]
        case "drop":
            let kind = positional.first ?? ""
            cluster.deliverable = { "\($0.kind)" != kind }
            return ["ok"]
        case "status":
            return cluster.nodes.keys.sorted().map { id in
                let status = cluster.status(id)
                return "\(id): \(status.softState.role) term=\(status.hardState.term) vote=\(status.hardState.vote) "
                    + "leader=\(status.softState.leader) commit=\(status.hardState.commit) applied=\(status.applied) "
                    + "last=\(status.lastIndex) voters=\(status.configuration.voters) learners=\(status.configuration.learners)"
            }
        case "log":
            let node = cluster.nodes[first]!
            let firstIndex = (try? node.storage.firstIndex()) ?? 1
            let lastIndex = (try? node.storage.lastIndex()) ?? 0
            let entries = firstIndex > lastIndex ? [] : ((try? node.storage.entries(in: firstIndex..<(lastIndex + 1), bytesMax: .max)) ?? [])
            return ["snapshot=\(node.storage.currentSnapshot.metadata.index)/\(node.storage.currentSnapshot.metadata.term) entries=[\(entries.map(\.shortDescription).joined(separator: " "))]"]
        case "transfer":
            cluster.withNode(first) { $0.transferLeadership(to: UInt64(arguments["to"]!)!) }
            return ["ok"]
        case "add-learner", "add-voter", "remove":
            let kind: ConfigurationChange.Kind = words[0] == "add-learner" ? .addLearner : words[0] == "add-voter" ? .addVoter : .remove
            let change = ConfigurationChange(kind, node: UInt64(arguments["node"]!)!)
            return attempt { try $0.withNode(first) { try $0.proposeConfigurationChange(change) } }
        case "join":
            cluster.addJoiningNode(first, membership: ConfigurationState(voters: ids(arguments["voters"]), learners: ids(arguments["learners"])))
            return ["ok"]
        case "read-index":
            cluster.withNode(first) { $0.readIndex(context: Array(positional[1].utf8)) }
            return ["ok"]
        case "read-states":
            return cluster.nodes.keys.sorted().compactMap { id in
                let states = cluster.nodes[id]!.readStates
                return states.isEmpty ? nil : "\(id): " + states.map { "\($0.index):\(String(decoding: $0.context, as: UTF8.self))" }.joined(separator: " ")
            }
        case "compact":
            let node = cluster.nodes[first]!
            let index = node.applied.index
            try! node.storage.createSnapshot(at: index, configuration: node.membership, data: node.applied.encodeForSnapshot(through: index))
            try! node.storage.compact(through: index)
            return ["snapshot and compaction at \(index)"]
        case "stop":
            cluster.stop(first)
            return ["ok"]
        default:
            return ["unknown command \(words[0])"]
        }
        return lines.isEmpty ? ["(nothing)"] : lines
    }

    private func attempt(_ body: (RaftCluster) throws -> Void) -> [String] {
        do {
            try body(cluster)
            return ["ok"]
        } catch {
            return ["error: \(error)"]
        }
    }

    private func ids(_ list: String?) -> [UInt64] {
        (list ?? "").split(separator: ",").compactMap { UInt64($0) }
    }
}

@Suite struct ScriptedInteractionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
    static let scripts = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        .filter { $0.hasSuffix(".txt") }.sorted()

    @Test(arguments: ScriptedInteractionTests.scripts)
    func script(_ name: String) throws {
        try ScriptRunner(path: Self.directory.appendingPathComponent(name).path).run()
    }

    @Test func thereAreScripts() {
        #expect(Self.scripts.count >= 5, "scripts found in \(Self.directory.path): \(Self.scripts)")
    }
}
