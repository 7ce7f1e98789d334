import ArgumentParser
import Foundation
import Logging
import Node

/// `weir`: the Weir node server.
@main
struct Weir: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir",
        abstract: "Weir: a clustered LLM API gateway node.",
        subcommands: [Serve.self, Init.self, Config.self, Restore.self, RecoverAdmin.self, Version.self],
        defaultSubcommand: Serve.self)
}

/// Prints a configuration error the way an operator needs it and exits with status 2.
func loadConfiguration(_ options: ConfigurationOptions) throws -> ConfigurationLoader.Resolved {
    do {
        return try options.loader(environment: ProcessInfo.processInfo.environment).load()
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("weir: configuration error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a node until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let resolved = try loadConfiguration(options)
        let level = resolved.configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let metrics = PrometheusExporter.bootstrap()
        let logger = Logger(label: "weir")
        let node = WeirNode(configuration: resolved.configuration, metrics: metrics, logger: logger)
        do {
            try await node.run()
        } catch {
            logger.critical("weir could not start or stopped with an error: \(error)")
            FileHandle.standardError.write(Data("weir: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a configuration file with every key at its default.")

    @Option(help: "Where to write it.") var output = "weir.yaml"
    @Flag(help: "Overwrite an existing file.") var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw ValidationError("\(output) exists; pass --force to overwrite it")
        }
        try ConfigurationLoader.defaultFile().write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output); start a node with: weir serve --config \(output)")
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the configuration and print every effective value with its source.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        try loadConfiguration(options).lines.forEach { print($0) }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new node's data directory from a backup (clusterctl backup); the node then joins with --join.",
        discussion: """
            The backup's usage history is kept; its Raft log and state, policy snapshot, quota slots and node identity are \
            dropped, so the new node joins as itself and receives the cluster's current state from the leader.
            """)

    @Option(help: "The backup: a directory clusterctl backup wrote (DATA_DIR/backups/… on the node backed up).") var from: String
    @Option(help: "The new node's data directory (must not hold a database yet).") var dataDir: String

    func run() throws {
        do {
            let outcome = try BackupRestore.restore(from: from, into: dataDir)
            print("""
                restored \(from) into \(dataDir) (\(outcome.usageEvents) usage events kept\(outcome.clusterID.map { ", cluster \($0)" } ?? ""));
                start the node with a new node id and --join a member, for example:
                  weir serve --data-dir \(dataDir) --node-id N --join http://MEMBER:8080 --peer-listen tcp://0.0.0.0:7946
                """)
        } catch let failure as BackupRestore.Failure {
            FileHandle.standardError.write(Data("weir: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct RecoverAdmin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover-admin",
        abstract: "On a stopped node: have its next start issue a new super-admin token (when none is usable any more).",
        discussion: """
            Writes a new secret to DATA_DIR/admin.recovery (mode 0600). When the node starts again and the cluster has a \
            leader, it issues a super-admin token with that secret through the Raft log (the audit history names \
            system:recover-admin) and moves the file to DATA_DIR/admin.token. See docs/operations.md.
            """)

    @Option(help: "The stopped node's data directory.") var dataDir: String

    func run() throws {
        do {
            let path = try AdminRecovery.request(dataDirectory: dataDir)
            print("""
                wrote a recovery request to \(path);
                start the node again: once the cluster has a leader it issues the token and moves the secret to \(dataDir)/admin.token
                """)
        } catch {
            FileHandle.standardError.write(Data("weir: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Weir's version.")

    func run() { print("weir \(WeirVersion.current)") }
}
