import Foundation
import Yams

/// Builds a `NodeConfiguration` from layers, in rising precedence: defaults, a YAML file,
/// `WEIR_*` environment variables, then flags. Every error names the key, the value and
/// the layer it came from.
public struct ConfigurationLoader: Sendable {
    /// One value from a flag: `--set http.port=9090` or a shorthand like `--http-port`.
    public struct Override: Sendable, Equatable {
        /// The dotted key.
        public var key: String
        /// The raw value.
        public var value: String
        /// The flag as the user wrote it, for error messages.
        public var flag: String

        /// An override of `key`.
        public init(key: String, value: String, flag: String) {
            self.key = key
            self.value = value
            self.flag = flag
        }
    }

    /// The result: the configuration and, per key, the layer its value came from.
    public struct Resolved: Sendable {
        /// The effective configuration.
        public var configuration: NodeConfiguration
        /// Key → `default`, the file's path, `environment WEIR_…` or `flag --…`.
        public var sources: [String: String]

        /// Every key with its effective value and source, secrets redacted.
        public var lines: [String] {
            ConfigurationKey.all.map { key in
                "\(key.name) = \(key.show(configuration))    # \(sources[key.name] ?? "default")"
            }
        }
    }

    /// The YAML file to read, if any.
    public var file: String?
    /// The process environment (only `WEIR_*` names of known keys are read; other
    /// `WEIR_*` variables belong to other tools, such as clusterctl's `WEIR_TOKEN`).
    public var environment: [String: String]
    /// Flag values, applied last, in order.
    public var overrides: [Override]

    /// A loader over the given layers.
    public init(file: String?, environment: [String: String], overrides: [Override]) {
        self.file = file
        self.environment = environment
        self.overrides = overrides
    }

    /// Applies every layer and validates the result.
    public func load() throws(ConfigurationError) -> Resolved {
        var resolved = Resolved(configuration: NodeConfiguration(), sources: [:])
        if let file {
            for (key, value) in try Self.readYAML(path: file) {
                try Self.apply(key: key, value: value, source: file, to: &resolved)
            }
        }
        for key in ConfigurationKey.all {
            if let value = environment[key.environmentVariable] {
                try Self.apply(key: key.name, value: value, source: "environment variable \(key.environmentVariable)", to: &resolved)
            }
        }
        for override in overrides {
            try Self.apply(key: override.key, value: override.value, source: "flag \(override.flag)", to: &resolved)
        }
        try resolved.configuration.validateRelations()
        return resolved
    }

    private static func apply(key name: String, value: String, source: String, to resolved: inout Resolved) throws(ConfigurationError) {
        guard let key = ConfigurationKey.named(name) else {
            throw .unknownKey(name, source: source, suggestion: suggestion(for: name))
        }
        do {
            try key.apply(&resolved.configuration, value)
        } catch {
            let shown = key.name.contains("secret") ? "<redacted>" : value
            throw .invalidValue(key: key.name, value: shown, source: source, expected: error.expected)
        }
        resolved.sources[key.name] = source
    }

    /// Flattens a YAML mapping into dotted keys: `http: {port: 80}` → `http.port = 80`.
    /// A list becomes a comma-separated value.
    static func readYAML(path: String) throws(ConfigurationError) -> [(String, String)] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .invalidYAML(path: path, reason: "\(error)")
        }
        guard let root else { return [] }  // an empty file sets nothing
        guard root.mapping != nil else { throw .invalidYAML(path: path, reason: "the top level must be a mapping of keys") }
        var pairs: [(String, String)] = []
        try flatten(root, prefix: "", path: path, into: &pairs)
        return pairs
    }

    private static func flatten(_ node: Yams.Node, prefix: String, path: String, into pairs: inout [(String, String)]) throws(ConfigurationError) {
        if let mapping = node.mapping {
            for (key, value) in mapping {
                guard let name = key.string, !name.isEmpty else {
                    throw .invalidYAML(path: path, reason: "a key under '\(prefix)' is not a plain string")
                }
                try flatten(value, prefix: prefix.isEmpty ? name : "\(prefix).\(name)", path: path, into: &pairs)
            }
        } else if let sequence = node.sequence {
            let items = sequence.compactMap(\.string)
            guard items.count == sequence.count else {
                throw .invalidYAML(path: path, reason: "\(prefix) must be a list of plain values")
            }
            pairs.append((prefix, items.joined(separator: ",")))
        } else if let scalar = node.string {
            pairs.append((prefix, scalar))
        }
    }

    /// The known key closest to `name` by edit distance, if it is close enough to be a typo.
    static func suggestion(for name: String) -> String? {
        let scored = ConfigurationKey.all.map { ($0.name, editDistance(name, $0.name)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 3 else { return nil }
        return best.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// A commented YAML file with every key at its default, for `weir init`.
    public static func defaultFile() -> String {
        let defaults = NodeConfiguration()
        var lines = ["# Weir node configuration. Environment variables (WEIR_HTTP_PORT …) override this", "# file; flags (--set http.port=9090) override both.", ""]
        var section = ""
        for key in ConfigurationKey.all {
            let parts = key.name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts[0] != section {
                section = parts[0]
                lines.append("\(section):")
            }
            let value = key.show(defaults)
            lines.append("  # \(key.help) (\(key.environmentVariable))")
            lines.append(value.isEmpty ? "  # \(parts[1]):" : "  \(parts[1]): \(yamlScalar(value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func yamlScalar(_ value: String) -> String {
        value.contains(":") || value.contains("#") ? "\"\(value)\"" : value
    }
}
