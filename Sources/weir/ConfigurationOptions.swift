import ArgumentParser
import Node

/// The flags that configure a node, shared by `weir serve` and `weir config`. Flags win
/// over environment variables, which win over the file.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "YAML configuration file (default: $WEIR_CONFIG if set).")
    var file: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set any configuration key, e.g. --set http.port=9090 (repeatable).", valueName: "key=value"))
    var assignments: [String] = []

    @Option(help: "Shorthand for --set node.id=…") var nodeId: String?
    @Option(help: "Shorthand for --set data.dir=…") var dataDir: String?
    @Option(help: "Shorthand for --set http.host=…") var httpHost: String?
    @Option(help: "Shorthand for --set http.port=…") var httpPort: String?
    @Option(help: "Shorthand for --set peer.listen=…") var peerListen: String?
    @Option(help: "Shorthand for --set log.level=…") var logLevel: String?
    @Option(help: "Join the cluster of the member at this HTTP URL (shorthand for --set cluster.join=…).") var join: String?
    @Flag(help: "Form a new cluster with peer.peers; first start of a static cluster only (--set cluster.bootstrap=true).") var bootstrap = false

    func loader(environment: [String: String]) throws -> ConfigurationLoader {
        var overrides: [ConfigurationLoader.Override] = []
        let shorthands: [(String, String, String?)] = [
            ("node.id", "--node-id", nodeId), ("data.dir", "--data-dir", dataDir),
            ("http.host", "--http-host", httpHost), ("http.port", "--http-port", httpPort),
            ("peer.listen", "--peer-listen", peerListen), ("log.level", "--log-level", logLevel),
            ("cluster.join", "--join", join),
        ]
        for (key, flag, value) in shorthands {
            if let value { overrides.append(.init(key: key, value: value, flag: flag)) }
        }
        if bootstrap { overrides.append(.init(key: "cluster.bootstrap", value: "true", flag: "--bootstrap")) }
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("--set needs key=value, got '\(assignment)'")
            }
            overrides.append(.init(
                key: String(assignment[..<equals]), value: String(assignment[assignment.index(after: equals)...]),
                flag: "--set \(assignment[..<equals])"))
        }
        return ConfigurationLoader(file: file ?? environment["WEIR_CONFIG"], environment: environment, overrides: overrides)
    }
}
