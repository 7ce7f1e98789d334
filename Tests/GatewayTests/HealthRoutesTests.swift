import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import Gateway

private final class FakeStatus: NodeStatusProvider {
    let identity = NodeIdentity(nodeID: 7, clusterID: "c-test", version: "9.9.9")
    let waiting = Mutex<[String]>(["storage"])
    func readiness() -> Readiness { Readiness(waitingFor: waiting.withLock { $0 }) }
}

private struct FakeExporter: MetricsExporter {
    func prometheusText() -> [UInt8] { Array("# TYPE weir_up gauge\nweir_up 1\n".utf8) }
}

private func json(_ response: TestResponse) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as! [String: Any]
}

@Suite struct HealthRoutesTests {
    private func app(_ status: FakeStatus) -> some ApplicationProtocol {
        let router = Router()
        HealthRoutes(status: status).register(on: router)
        MetricsRoutes(exporter: FakeExporter()).register(on: router)
        return Application(router: router)
    }

    @Test func liveNamesTheNodeAndVersion() async throws {
        try await app(FakeStatus()).test(.router) { client in
            let response = try await client.execute(uri: "/health/live", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let body = try json(response)
            #expect(body["node_id"] as? Int == 7)
            #expect(body["version"] as? String == "9.9.9")
            #expect(body["cluster_id"] as? String == "c-test")
            #expect(body["status"] as? String == "live")
        }
    }

    @Test func readyFollowsTheNodesConditions() async throws {
        let status = FakeStatus()
        try await app(status).test(.router) { client in
            let waiting = try await client.execute(uri: "/health/ready", method: .get)
            #expect(waiting.status == .serviceUnavailable)
            #expect(try json(waiting)["waiting_for"] as? [String] == ["storage"])

            status.waiting.withLock { $0 = [] }
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .ok)
            #expect(try json(ready)["status"] as? String == "ready")
        }
    }

    @Test func metricsServePrometheusText() async throws {
        try await app(FakeStatus()).test(.router) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(String(buffer: response.body).contains("weir_up 1"))
        }
    }
}
