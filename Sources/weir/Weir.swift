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
        subcommands: [Serve.self, Init.self, Config.self, Version.self],
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

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Weir's version.")

    func run() { print("weir \(WeirVersion.current)") }
}
