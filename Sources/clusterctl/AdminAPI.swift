import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Calls to one node's admin API; errors come back as the node's own message.
struct AdminAPI {
    let address: String
    let token: String?
    let timeout: TimeAmount

    init(_ connection: Connection, timeoutSeconds: Int64? = nil) throws {
        (address, token) = try connection.resolved()
        timeout = .seconds(timeoutSeconds ?? connection.timeoutSeconds)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The JSON answer of `method path` (with `body`), or the node's error.
    func call(_ method: HTTPMethod, _ path: String, body: Any? = nil, reason: String? = nil) async throws -> Any {
        let text = try await raw(method, path, body: body, reason: reason)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }

    /// `reason` goes in `X-Weir-Reason`, which the audit history keeps.
    func raw(_ method: HTTPMethod, _ path: String, body: Any? = nil, reason: String? = nil) async throws -> String {
        guard let token else {
            throw Failure(description: "no admin token: pass --token, set WEIR_TOKEN, or put token (or token_file) in the config file")
        }
        var request = HTTPClientRequest(url: address + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let reason { request.headers.add(name: "X-Weir-Reason", value: reason) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw Failure(description: "cannot reach \(address): \(error); check --address or WEIR_ADDRESS")
        }
        let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        guard (200..<300).contains(response.status.code) else {
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? text
            throw Failure(description: "\(method.rawValue) \(path): HTTP \(response.status.code): \(message)")
        }
        return text
    }
}
