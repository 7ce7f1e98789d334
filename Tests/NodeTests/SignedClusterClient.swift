import AsyncHTTPClient
import Foundation
import Gateway
import NIOCore
import NIOHTTP1

/// Calls a node's `/cluster/v1/…` endpoints, signed with the cluster secret, as another
/// node or an operator would. Every call answers nil (or a status code) rather than
/// throwing, so tests can poll with deadlines.
struct SignedClusterClient: Sendable {
    let signer: ClusterSignature

    init(secret: String) { signer = ClusterSignature(secret: Array(secret.utf8)) }

    func request(_ method: HTTPMethod, port: Int, path: String, body: [UInt8] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: ClusterSignature.headerName, value: signer.sign(method: method.rawValue, path: path, body: body))
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        return request
    }

    /// The answer's status and body, or nil when the node does not answer in time.
    func call(_ method: HTTPMethod, port: Int, path: String, json: String = "", timeout: Int64 = 2) async -> (status: Int, body: Data)? {
        let req = request(method, port: port, path: path, body: Array(json.utf8))
        guard let response = try? await HTTPClient.shared.execute(req, timeout: .seconds(timeout)),
              let body = try? await response.body.collect(upTo: 1 << 20) else { return nil }
        return (Int(response.status.code), Data(String(buffer: body).utf8))
    }

    func status(_ port: Int) async -> ClusterStatus? {
        guard let answer = await call(.GET, port: port, path: "/cluster/v1/status"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(ClusterStatus.self, from: answer.body)
    }

    func canary(_ port: Int) async -> CanaryResult? {
        guard let answer = await call(.POST, port: port, path: "/cluster/v1/canary", timeout: 10), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(CanaryResult.self, from: answer.body)
    }

    func canaryNonce(_ port: Int, at index: UInt64) async -> UInt64? {
        guard let answer = await call(.GET, port: port, path: "/cluster/v1/canaries/\(index)"), answer.status == 200,
              let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        else { return nil }
        return (json["nonce"] as? NSNumber)?.uint64Value
    }
}
