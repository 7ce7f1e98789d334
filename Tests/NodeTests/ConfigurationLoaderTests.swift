import Foundation
import Logging
import Testing
@testable import Node

@Suite struct ConfigurationLoaderTests {
    private func write(_ yaml: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-\(UUID().uuidString).yaml").path
        try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func noLayersGivesTheEmbeddedDefaults() throws {
        let resolved = try ConfigurationLoader(file: nil, environment: [:], overrides: []).load()
        #expect(resolved.configuration == NodeConfiguration())
        #expect(resolved.configuration.httpPort == 8080 && resolved.configuration.dataDirectory == "./weir-data")
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheFile() throws {
        let file = write("""
            node:
              id: 3
            http:
              port: 9000
              host: 0.0.0.0
            log:
              level: debug
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let resolved = try ConfigurationLoader(
            file: file,
            environment: ["WEIR_HTTP_PORT": "9001", "WEIR_LOG_LEVEL": "warning", "WEIR_TOKEN": "belongs to clusterctl"],
            overrides: [.init(key: "http.port", value: "9002", flag: "--http-port")]
        ).load()
        let config = resolved.configuration
        #expect(config.nodeID == 3 && config.httpHost == "0.0.0.0")
        #expect(config.logLevel == .warning)
        #expect(config.httpPort == 9002)
        #expect(resolved.sources["node.id"] == file)
        #expect(resolved.sources["log.level"] == "environment variable WEIR_LOG_LEVEL")
        #expect(resolved.sources["http.port"] == "flag --http-port")
        #expect(resolved.lines.contains("http.port = 9002    # flag --http-port"))
    }

    @Test func nodeIDsAreWrittenN1OrAsNumbers() throws {
        let kek = write(String(repeating: "ab", count: 32))
        defer { try? FileManager.default.removeItem(atPath: kek) }
        let resolved = try ConfigurationLoader(
            file: nil, environment: ["WEIR_CLUSTER_SECRET": "sixteen-chars-or-more", "WEIR_CLUSTER_KEK_FILE": kek],
            overrides: [.init(key: "node.id", value: "n2", flag: "--node-id"), .init(key: "peer.peers", value: "n1=tcp://127.0.0.1:7001,3=tcp://127.0.0.1:7003", flag: "--set")]
        ).load()
        #expect(resolved.configuration.nodeID == 2)
        #expect(resolved.configuration.peers == [1: "tcp://127.0.0.1:7001", 3: "tcp://127.0.0.1:7003"])
        for bad in ["n", "n0", "m1", "nn1", "-1"] {
            #expect(throws: ConfigurationError.self, "node.id=\(bad) must be refused") {
                try ConfigurationLoader(file: nil, environment: [:], overrides: [.init(key: "node.id", value: bad, flag: "--node-id")]).load()
            }
        }
    }

    @Test func aNodeWithPeersNeedsTheSharedKeyEncryptionKeyFile() throws {
        let peers = ConfigurationLoader.Override(key: "peer.peers", value: "n2=tcp://127.0.0.1:7002", flag: "--set")
        let error = #expect(throws: ConfigurationError.self, "a node with peers and no cluster.kek_file is refused") {
            try ConfigurationLoader(file: nil, environment: ["WEIR_CLUSTER_SECRET": "sixteen-chars-or-more"], overrides: [peers]).load()
        }
        #expect(error.map { "\($0)" }?.contains("cluster.kek_file") == true, "the error names the key: \(String(describing: error))")
        // A lone node needs none: it generates DATA_DIR/kek.key on first start.
        #expect(try ConfigurationLoader(file: nil, environment: [:], overrides: []).load().configuration.kekFile == nil)
    }

    @Test func anUnknownKeyIsNamedWithASuggestion() {
        let file = write("http:\n  prot: 80\n")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ConfigurationError.unknownKey("http.prot", source: file, suggestion: "http.port")) {
            try ConfigurationLoader(file: file, environment: [:], overrides: []).load()
        }
        #expect(throws: ConfigurationError.unknownKey("bogus", source: "flag --set bogus", suggestion: nil)) {
            try ConfigurationLoader(file: nil, environment: [:], overrides: [.init(key: "bogus", value: "1", flag: "--set bogus")]).load()
        }
    }

    @Test func aBadValueNamesKeyValueSourceAndExpectation() {
        let error = ConfigurationError.invalidValue(
            key: "http.port", value: "eighty", source: "environment variable WEIR_HTTP_PORT", expected: "a port number 0-65535")
        #expect(throws: error) {
            try ConfigurationLoader(file: nil, environment: ["WEIR_HTTP_PORT": "eighty"], overrides: []).load()
        }
        #expect(error.description == "invalid value 'eighty' for http.port (from environment variable WEIR_HTTP_PORT): expected a port number 0-65535")
        let cases: [(String, String)] = [
            ("node.id", "0"), ("http.port", "70000"), ("peer.listen", "127.0.0.1:7000"), ("log.level", "loud"),
            ("peer.peers", "2=tcp://a:1,2=tcp://b:1"), ("peer.peers", "n2=tcp://a:1,2=tcp://b:1"), ("cluster.id", "has space"), ("peer.payload_bytes_max", "10"),
        ]
        for (key, value) in cases {
            #expect(throws: ConfigurationError.self, "\(key)=\(value) must be refused") {
                try ConfigurationLoader(file: nil, environment: [:], overrides: [.init(key: key, value: value, flag: "--set")]).load()
            }
        }
    }

    @Test func secretsNeverAppearInErrorsOrListings() throws {
        #expect(throws: ConfigurationError.invalidValue(
            key: "cluster.secret", value: "<redacted>", source: "flag --set", expected: "a secret of at least 16 characters")) {
            try ConfigurationLoader(file: nil, environment: [:], overrides: [.init(key: "cluster.secret", value: "short", flag: "--set")]).load()
        }
        let resolved = try ConfigurationLoader(
            file: nil, environment: ["WEIR_CLUSTER_SECRET": "sixteen-chars-or-more"], overrides: []).load()
        #expect(resolved.configuration.clusterSecret == "sixteen-chars-or-more")
        #expect(!resolved.lines.joined().contains("sixteen"))
    }

    @Test func peersFromAYAMLListAndTheirRelationToTheSecret() throws {
        let file = write("""
            peer:
              peers:
                - 2=tcp://10.0.0.2:7080
                - 3=tcp://10.0.0.3:7080
            """)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(file: file, environment: [:], overrides: []).load()
        }
        let kek = write(String(repeating: "cd", count: 32))
        defer { try? FileManager.default.removeItem(atPath: kek) }
        let resolved = try ConfigurationLoader(
            file: file, environment: ["WEIR_CLUSTER_SECRET": "a-long-shared-cluster-secret", "WEIR_CLUSTER_KEK_FILE": kek], overrides: []).load()
        #expect(resolved.configuration.peers == [2: "tcp://10.0.0.2:7080", 3: "tcp://10.0.0.3:7080"])
    }

    @Test func malformedFilesAreExplained() {
        let notMapping = write("- just\n- a list\n")
        let broken = write("http: [unclosed\n")
        defer { [notMapping, broken].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        #expect(throws: ConfigurationError.invalidYAML(path: notMapping, reason: "the top level must be a mapping of keys")) {
            try ConfigurationLoader(file: notMapping, environment: [:], overrides: []).load()
        }
        do {
            _ = try ConfigurationLoader(file: broken, environment: [:], overrides: []).load()
            Issue.record("broken YAML must be refused")
        } catch {
            guard case .invalidYAML(path: broken, reason: _) = error else { Issue.record("got \(error)"); return }
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader(file: "/nonexistent/weir.yaml", environment: [:], overrides: []).load()
        }
    }

    @Test func theInitFileLoadsBackToTheDefaults() throws {
        let file = write(ConfigurationLoader.defaultFile())
        defer { try? FileManager.default.removeItem(atPath: file) }
        let resolved = try ConfigurationLoader(file: file, environment: [:], overrides: []).load()
        #expect(resolved.configuration == NodeConfiguration())
        for key in ConfigurationKey.all {
            #expect(ConfigurationLoader.defaultFile().contains(key.environmentVariable), "\(key.name) is documented")
        }
    }
}
