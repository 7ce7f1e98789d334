import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import Gateway

private final class FakeCluster: ClusterOperator {
    let joined = Mutex<[(UInt64, String)]>([])
    func join(nodeID: UInt64, peerAddress: String) async throws -> ClusterMembership {
        joined.withLock { $0.append((nodeID, peerAddress)) }
        return ClusterMembership(voters: [1], learners: [nodeID], addresses: ["1": "tcp://a:1", "\(nodeID)": peerAddress])
    }
    func remove(nodeID: UInt64) async throws -> ClusterMembership { throw CancellationError() }
    func status() async -> ClusterStatus {
        ClusterStatus(node_id: 1, role: "leader", leader: 1, term: 3, commit: 9, applied: 9, snapshot_index: 0,
                      membership: ClusterMembership(voters: [1], learners: [], addresses: ["1": "tcp://a:1"]),
                      canaries: CanarySummary(count: 1, digest: "ab", last_index: 7))
    }
    func canary() async throws -> CanaryResult { CanaryResult(index: 10, nonce: 42, latency_ms: 1.5) }
    func canary(at index: UInt64) async -> UInt64? { index == 10 ? 42 : nil }
}

@Suite struct ClusterRoutesTests {
    let secret = Array("the cluster secret, sixteen+".utf8)

    @Test func signaturesVerifyAndRefuseTampering() {
        let signer = ClusterSignature(secret: secret)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = signer.sign(method: "POST", path: "/cluster/v1/join", body: [1, 2], now: now)
        #expect(signer.verify(header, method: "POST", path: "/cluster/v1/join", body: [1, 2], now: now) == nil)
        #expect(signer.verify(header, method: "POST", path: "/cluster/v1/join", body: [1, 3], now: now) == .invalid)
        #expect(signer.verify(header, method: "POST", path: "/cluster/v1/remove", body: [1, 2], now: now) == .invalid)
        #expect(signer.verify(header, method: "POST", path: "/cluster/v1/join", body: [1, 2], now: now + 121) == .expired)
        #expect(ClusterSignature(secret: Array("another secret of length".utf8))
            .verify(header, method: "POST", path: "/cluster/v1/join", body: [1, 2], now: now) == .invalid)
        #expect(signer.verify(nil, method: "GET", path: "/", body: []) == .missing)
        #expect(signer.verify("t=1,mac=zz", method: "GET", path: "/", body: []) == .malformed)
    }

    @Test func joinNeedsAValidSignatureAndAValidBody() async throws {
        let cluster = FakeCluster()
        let router = Router()
        let signer = ClusterSignature(secret: secret)
        ClusterRoutes(cluster: cluster, signature: signer).register(on: router)
        try await Application(router: router).test(.router) { client in
            let body = Array(#"{"node_id":4,"peer_address":"tcp://127.0.0.1:7004"}"#.utf8)
            let unsigned = try await client.execute(uri: "/cluster/v1/join", method: .post, body: ByteBuffer(bytes: body))
            #expect(unsigned.status == .unauthorized)
            #expect(String(buffer: unsigned.body).contains("signed with the cluster secret"))

            let wrong = ClusterSignature(secret: Array("a different cluster secret".utf8))
            let forged = try await client.execute(
                uri: "/cluster/v1/join", method: .post,
                headers: [.init(ClusterSignature.headerName)!: wrong.sign(method: "POST", path: "/cluster/v1/join", body: body)],
                body: ByteBuffer(bytes: body))
            #expect(forged.status == .unauthorized)
            #expect(String(buffer: forged.body).contains("is cluster.secret the same"))

            let signed = try await client.execute(
                uri: "/cluster/v1/join", method: .post,
                headers: [.init(ClusterSignature.headerName)!: signer.sign(method: "POST", path: "/cluster/v1/join", body: body)],
                body: ByteBuffer(bytes: body))
            #expect(signed.status == .ok)
            let membership = try JSONDecoder().decode(ClusterMembership.self, from: Data(String(buffer: signed.body).utf8))
            #expect(membership.learners == [4] && membership.addresses["4"] == "tcp://127.0.0.1:7004")

            let bad = Array(#"{"node_id":0,"peer_address":"nope"}"#.utf8)
            let refused = try await client.execute(
                uri: "/cluster/v1/join", method: .post,
                headers: [.init(ClusterSignature.headerName)!: signer.sign(method: "POST", path: "/cluster/v1/join", body: bad)],
                body: ByteBuffer(bytes: bad))
            #expect(refused.status == .badRequest)
        }
        #expect(cluster.joined.withLock { $0.count } == 1, "only the signed, valid request reached the cluster")
    }

    @Test func canariesAndStatusAreSignedToo() async throws {
        let router = Router()
        let signer = ClusterSignature(secret: secret)
        ClusterRoutes(cluster: FakeCluster(), signature: signer).register(on: router)
        try await Application(router: router).test(.router) { client in
            func signed(_ method: String, _ path: String) -> HTTPFields {
                [.init(ClusterSignature.headerName)!: signer.sign(method: method, path: path, body: [])]
            }
            #expect(try await client.execute(uri: "/cluster/v1/status", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/cluster/v1/canary", method: .post).status == .unauthorized)
            let status = try await client.execute(uri: "/cluster/v1/status", method: .get, headers: signed("GET", "/cluster/v1/status"))
            #expect(try JSONDecoder().decode(ClusterStatus.self, from: Data(String(buffer: status.body).utf8)).canaries.last_index == 7)
            let canary = try await client.execute(uri: "/cluster/v1/canary", method: .post, headers: signed("POST", "/cluster/v1/canary"))
            #expect(try JSONDecoder().decode(CanaryResult.self, from: Data(String(buffer: canary.body).utf8)).index == 10)
            let found = try await client.execute(uri: "/cluster/v1/canaries/10", method: .get, headers: signed("GET", "/cluster/v1/canaries/10"))
            #expect(String(buffer: found.body).contains("42"))
            let missing = try await client.execute(uri: "/cluster/v1/canaries/11", method: .get, headers: signed("GET", "/cluster/v1/canaries/11"))
            #expect(missing.status == .notFound)
        }
    }
}
