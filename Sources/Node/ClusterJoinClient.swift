import AsyncHTTPClient
import Foundation
import Gateway
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Asks a member to add this node to its cluster (`--join URL`), retrying while the
/// cluster elects a leader or finishes another change, and returns the membership to
/// start from.
struct ClusterJoinClient {
    let memberURL: String
    let signature: ClusterSignature
    let logger: Logger
    /// How long to keep trying before giving up, in seconds.
    let timeoutSeconds: Int

    enum Failure: Error, CustomStringConvertible {
        case refused(status: Int, message: String)
        case gaveUp(lastError: String)
        var description: String {
            switch self {
            case let .refused(status, message): "the member refused the join (HTTP \(status)): \(message)"
            case let .gaveUp(lastError): "could not join the cluster in time; last error: \(lastError)"
            }
        }
    }

    func join(nodeID: UInt64, peerAddress: String, incarnation: Incarnation) async throws -> ClusterMembership {
        let path = "/cluster/v1/join"
        let body = Array(try JSONSerialization.data(withJSONObject: ["node_id": nodeID, "peer_address": peerAddress, "incarnation": incarnation.hex, "entry_level": NodeStateMachine.entryLevel]))
        let deadline = ContinuousClock.now.advanced(by: .seconds(timeoutSeconds))
        var delay = Duration.milliseconds(200)
        var lastError = "no attempt made"
        while ContinuousClock.now < deadline {
            var request = HTTPClientRequest(url: memberURL.trimmingCharacters(in: ["/"]) + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: ClusterSignature.headerName, value: signature.sign(method: "POST", path: path, body: body))
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
                let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                if response.status.code == 200 {
                    let membership = try JSONDecoder().decode(ClusterMembership.self, from: data)
                    if let problem = membership.problem(joining: nodeID) {
                        throw Failure.refused(status: 200, message: "the member's answer is not a membership this node can start from: \(problem)")
                    }
                    return membership
                }
                let message = Self.errorMessage(data)
                // 409: this node id is a member from another data directory; retrying cannot help.
                if [400, 401, 409].contains(response.status.code) {
                    throw Failure.refused(status: Int(response.status.code), message: message)
                }
                lastError = "HTTP \(response.status.code): \(message)"
            } catch let failure as Failure {
                throw failure
            } catch {
                lastError = "\(error)"
            }
            logger.info("join not accepted yet; retrying", metadata: ["member": "\(memberURL)", "reason": "\(lastError)"])
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
        throw Failure.gaveUp(lastError: lastError)
    }

    /// The `error.message` of a JSON failure, else the body as text.
    static func errorMessage(_ data: Data) -> String {
        struct Failure: Decodable { struct Detail: Decodable { let message: String }; let error: Detail }
        return (try? JSONDecoder().decode(Failure.self, from: data))?.error.message ?? String(decoding: data, as: UTF8.self)
    }
}
