import Foundation
@testable import Gateway
import HTTPTypes
import Synchronization
import Policy
import Hummingbird
import NIOCore
import Testing

/// A cluster of three that records the operations asked of it.
final class RecordingClusterAdmin: ClusterAdmin {
    let calls = Mutex<[String]>([])
    struct Refused: Error, CustomStringConvertible { var description: String { "node 9 is not a member of the cluster" } }

    func overview() async -> ClusterOverview {
        let status = ClusterStatus(
            node_id: 1, role: "leader", leader: 1, term: 4, commit: 90, applied: 88, snapshot_index: 0,
            membership: ClusterMembership(voters: [1, 2, 3], learners: [], addresses: [:]), canaries: CanarySummary(count: 0, digest: "", last_index: 0))
        let report = NodeReport(status: status, readiness: Readiness(waitingFor: []), version: "test", inFlight: 0)
        return ClusterOverview(answeredBy: 1, membership: status.membership, reports: [1: report])
    }

    func drain(node: UInt64) async throws -> DrainReport {
        guard node != 9 else { throw Refused() }
        calls.withLock { $0.append("drain \(node)") }
        return DrainReport(node_id: node, in_flight_left: 0, quota_grants_handed_back: 2, leadership_handed_to: nil,
                           membership: ClusterMembership(voters: [1, 2], learners: [], addresses: [:]))
    }

    func transferLeader(to node: UInt64?) async throws -> UInt64 {
        calls.withLock { $0.append("transfer \(node.map(String.init) ?? "any")") }
        return node ?? 2
    }

    func remove(node: UInt64) async throws -> ClusterMembership { ClusterMembership(voters: [1, 2], learners: [], addresses: [:]) }
    func join(node: UInt64, peerAddress: String) async throws -> ClusterMembership {
        calls.withLock { $0.append("join \(node) \(peerAddress)") }
        return ClusterMembership(voters: [1, 2, 3], learners: [node], addresses: [String(node): peerAddress])
    }
    func snapshot(node: UInt64) async throws -> UInt64 { 88 }
    func backup(node: UInt64) async throws -> BackupReport { BackupReport(node_id: node, path: "/data/backups/x", applied: 88) }
}

/// `/admin/api/cluster…`: scopes, node names, and errors that say what to do.
@Suite struct ClusterRoutesTests {
    @Test func statusNeedsReadAndOperationsNeedSuper() async throws {
        let admin = RecordingClusterAdmin()
        var harness = try await AdminHarness()
        harness.cluster = admin
        let reader = try await harness.addToken("tok_read", scopes: ["admin.read"])
        let writer = try await harness.addToken("tok_write", scopes: ["admin.write"])
        try await harness.run { api async throws in
            let status = try await api.get("/admin/api/cluster", token: reader)
            #expect(status.status == .ok)
            let members = status.object["members"] as? [[String: Any]] ?? []
            #expect(members.count == 3 && members.filter { $0["reachable"] as? Bool == true }.count == 1, "\(status.text)")
            #expect(members.first?["lag"] as? Int == 2, "the leader's commit minus the applied index")
            #expect(try await api.post("/admin/api/cluster/drain", #"{"node":"n2"}"#, token: writer).status == .forbidden)
            let drained = try await api.post("/admin/api/cluster/drain", #"{"node":"n2"}"#)
            #expect(drained.status == .ok && drained.object["quota_grants_handed_back"] as? Int == 2, "\(drained.text)")
            let transferred = try await api.post("/admin/api/cluster/transfer-leader", "")
            #expect(transferred.object["leader"] as? Int == 2)
            let joined = try await api.post("/admin/api/cluster/join", #"{"node":"n4","peer_address":"tcp://10.0.0.4:7946"}"#)
            #expect(joined.status == .ok && joined.object["learners"] as? [Int] == [4], "\(joined.text)")
            let noAddress = try await api.post("/admin/api/cluster/join", #"{"node":"n4"}"#)
            #expect(noAddress.status == .badRequest && noAddress.errorField == "peer_address")
            let bad = try await api.post("/admin/api/cluster/drain", #"{"node":"x7"}"#)
            #expect(bad.status == .badRequest && bad.errorField == "node")
            let none = try await api.post("/admin/api/cluster/drain", "{}")
            #expect(none.status == .badRequest && none.errorMessage.contains("name the node"))
            let refused = try await api.post("/admin/api/cluster/drain", #"{"node":"9"}"#)
            #expect(refused.status == .serviceUnavailable && refused.errorMessage.contains("not a member"))
            return ()
        }
        #expect(admin.calls.withLock { $0 } == ["drain 2", "transfer any", "join 4 tcp://10.0.0.4:7946"])
    }

    @Test func withoutTheClusterWiredTheEndpointsSaySo() async throws {
        try await AdminHarness().run { api async throws in
            let answer = try await api.get("/admin/api/cluster")
            #expect(answer.status == .serviceUnavailable && answer.errorMessage.contains("not wired"))
            return ()
        }
    }
}

/// `POST /admin/api/credentials/reseal`, step 2 of a KEK rotation.
@Suite struct ResealTests {
    @Test func credentialsSealedWithTheOldKeyAreSealedAgainWithTheNewOne() async throws {
        let old = [UInt8](repeating: 1, count: 32), new = [UInt8](repeating: 2, count: 32), lost = [UInt8](repeating: 3, count: 32)
        var harness = try await AdminHarness()
        harness.sealer = CredentialSealer(key: old)
        try await harness.run { api async throws in
            for (id, secret) in [("key:openai:a", "sk-first-secret-value"), ("key:anthropic:b", "sk-second-secret-value")] {
                let provider = id.contains("openai") ? "openai" : "anthropic"
                #expect(try await api.post("/admin/api/credentials", #"{"id":"\#(id)","provider":"\#(provider)","secret":"\#(secret)"}"#).status == .ok)
            }
            return ()
        }
        // One credential under a key nobody has any more.
        let stray = Credential(
            id: "key:openai:lost", provider: .openai, baseURL: nil, sealedSecret: try CredentialSealer(key: lost).seal("sk-gone", for: "key:openai:lost"),
            extraHeaders: [:], created: .pending, updated: .pending)
        _ = try await harness.policy.submit(PolicyEntry(actor: "test", command: .putCredential(stray)))
        harness.sealer = CredentialSealer(key: new, accepted: [old])
        let answer = try await harness.run { api async throws in try await api.post("/admin/api/credentials/reseal", "").text }
        let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any] ?? [:]
        #expect(object["resealed"] as? [String] == ["key:anthropic:b", "key:openai:a"] && object["unreadable"] as? [String] == ["key:openai:lost"], "\(answer)")
        let onlyNew = CredentialSealer(key: new)
        let state = harness.policy.current
        #expect(try onlyNew.open(try #require(state.credentials["key:openai:a"]?.sealedSecret), for: "key:openai:a") == "sk-first-secret-value")
        #expect(try onlyNew.open(try #require(state.credentials["key:anthropic:b"]?.sealedSecret), for: "key:anthropic:b") == "sk-second-secret-value")
        let again = try await harness.run { api async throws in try await api.post("/admin/api/credentials/reseal", "").text }
        #expect(again.contains(#""current":2"#) && again.contains(#""resealed":[]"#), "\(again)")
    }
}

/// What a drain waits for.
@Suite struct InFlightRequestsTests {
    @Test func aRequestCountsUntilItsResponseIsWrittenOrDropped() async throws {
        let inFlight = InFlightRequests()
        var response: Response? = await inFlight.track(refusing: Response(status: .serviceUnavailable)) {
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "answer")))
        }
        #expect(inFlight.current == 1, "the body is not written yet")
        _ = response?.status
        response = nil
        #expect(inFlight.current == 0, "a response the server drops (its client gone) is not counted forever")
        struct Failed: Error {}
        _ = try? await inFlight.track(refusing: Response(status: .serviceUnavailable)) { throw Failed() }
        #expect(inFlight.current == 0, "a request that failed is not counted")
    }

    @Test func requestsOverTheInFlightLimitAreRefusedAndNotCounted() async throws {
        let inFlight = InFlightRequests(limit: 2)
        var held: [Response] = []
        for _ in 0..<2 {
            held.append(await inFlight.track(refusing: Response(status: .serviceUnavailable)) { Response(status: .ok) })
        }
        let third = await inFlight.track(refusing: Response(status: .serviceUnavailable)) { Response(status: .ok) }
        #expect(third.status == .serviceUnavailable && inFlight.current == 2, "the refused request holds no place")
        held.removeAll()
        let fourth = await inFlight.track(refusing: Response(status: .serviceUnavailable)) { Response(status: .ok) }
        #expect(fourth.status == .ok, "places come back when responses are done")
    }
}
