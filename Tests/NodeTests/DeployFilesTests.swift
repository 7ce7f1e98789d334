import Foundation
import NodeTestSupport
import Testing
import Yams

/// The files in `deploy/` are checked by the tools that will read them, where the machine
/// has them: haproxy's own check, systemd's verifier, and a parse of the Kubernetes manifest.
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-check-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let pid = try spawnLogged(arguments, output: output)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return ((status >> 8) & 0xff, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    @Test func haproxyAcceptsItsConfigurationAndChecksReadiness() throws {
        let config = Self.root + "/deploy/haproxy/haproxy.cfg"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.contains("option httpchk GET /health/ready"))
        let haproxy = try #require(["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }, "haproxy is installed by make test")
        let (status, output) = try run([haproxy, "-c", "-f", config])
        #expect(status == 0, "haproxy -c: \(output)")
    }

    @Test func theSystemdUnitVerifies() throws {
        let verifier = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: verifier) else { return }  // not every machine has systemd
        let unit = try String(contentsOfFile: Self.root + "/deploy/systemd/weir.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/weir serve"))
        // The verifier wants the binary to exist: point it at the one under test.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("weir-\(UUID().uuidString).service").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let weir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weir").path
        try unit.replacingOccurrences(of: "/usr/local/bin/weir", with: weir).write(toFile: copy, atomically: true, encoding: .utf8)
        let (status, output) = try run([verifier, "verify", copy])
        #expect(status == 0, "systemd-analyze verify: \(output)")
    }

    @Test func theKubernetesManifestHasAStatefulSetWithReadinessOnReady() throws {
        let text = try String(contentsOfFile: Self.root + "/deploy/kubernetes/weir.yaml", encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        #expect(Set(documents.compactMap { $0["kind"] as? String }) == ["Service", "StatefulSet"] && documents.count == 3)
        let set = try #require(documents.first { $0["kind"] as? String == "StatefulSet" })
        let container = (((set["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]
        let probe = (container?.first?["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        #expect(probe?["path"] as? String == "/health/ready")
    }
}
