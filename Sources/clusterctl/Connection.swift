import ArgumentParser
import Foundation
import Yams

/// Where to reach a node and with which admin token, as kubectl users expect: a flag wins
/// over the environment (`WEIR_ADDRESS`, `WEIR_TOKEN`), which wins over the config file
/// (`--config`, else `$WEIR_CONFIG`, else `~/.config/weir/clusterctl.yaml`).
struct Connection: ParsableArguments {
    @Option(help: "A node's base URL (default: $WEIR_ADDRESS, the config file, else http://127.0.0.1:8080).")
    var address: String?

    @Option(help: "An admin token (default: $WEIR_TOKEN, else the config file's token or token_file).")
    var token: String?

    @Option(help: "The config file (YAML: address, token or token_file).")
    var config: String?

    @Option(help: "Seconds to wait for each answer (a drain waits longer on its own).") var timeoutSeconds: Int64 = 10

    @Option(name: .shortAndLong, help: "Output: table or json.") var output: OutputFormat = .table

    /// The config file's keys.
    struct File: Decodable {
        var address: String?
        var token: String?
        var token_file: String?
    }

    static let defaultAddress = "http://127.0.0.1:8080"

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["WEIR_CONFIG"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/weir/clusterctl.yaml").path
    }

    /// The config file, when there is one.
    func file() throws -> File? {
        let path = configPath
        guard FileManager.default.fileExists(atPath: path) else {
            if config != nil { throw ValidationError("the config file \(path) does not exist") }
            return nil
        }
        do {
            return try YAMLDecoder().decode(File.self, from: try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw ValidationError("the config file \(path) is not valid: \(error); it holds address, token or token_file")
        }
    }

    func resolved() throws -> (address: String, token: String?) {
        let environment = ProcessInfo.processInfo.environment
        let file = try file()
        var raw = address ?? environment["WEIR_ADDRESS"] ?? file?.address ?? Self.defaultAddress
        while raw.hasSuffix("/") { raw.removeLast() }
        var secret = token ?? environment["WEIR_TOKEN"] ?? file?.token
        if secret == nil, let path = file?.token_file {
            guard let text = try? String(contentsOfFile: (path as NSString).expandingTildeInPath, encoding: .utf8) else {
                throw ValidationError("token_file \(path) (from \(configPath)) cannot be read")
            }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (raw, secret)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
