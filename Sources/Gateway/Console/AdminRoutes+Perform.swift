import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy
import Synchronization

extension AdminRoutes {
    /// Runs the admin endpoint that `method` and `uri` name, as `identity`, and returns its
    /// status and JSON: the console renders exactly what the JSON API answers, filters,
    /// pagers, validation and scopes included.
    func perform(_ method: HTTPRequest.Method, _ uri: String, body: String? = nil, identity: AdminIdentity) async -> (status: Int, json: Any?) {
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        guard let (endpoint, parameters) = Self.route(method, path, in: endpoints) else {
            return (404, ["error": ["type": "not_found", "message": "no admin endpoint \(method.rawValue) \(path)"]])
        }
        let response: Response
        if !endpoint.scope.isGranted(by: identity.scopes) {
            response = AdminError(.forbidden, "forbidden", "token \(identity.tokenID) lacks \(endpoint.scope.rawValue)").response()
        } else {
            var head = HTTPRequest(method: method, scheme: "http", authority: "console", path: uri)
            if body != nil { head.headerFields[.contentType] = "application/json" }
            let request = Request(head: head, body: .init(buffer: ByteBuffer(string: body ?? "")))
            do {
                let call = try endpoint.call(request, parameters: parameters, identity: identity, reader: reader, writer: writer, now: clock())
                response = try await endpoint.handler(call)
            } catch let error as AdminError {
                response = error.response()
            } catch {
                response = AdminError(.internalServerError, "internal", "the call failed on this node: \(error)").response()
            }
        }
        let collected = CollectedBody()
        try? await response.body.write(CollectingWriter(into: collected))
        let bytes = collected.buffer.withLock { Data($0.readableBytesView) }
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed]))
    }

    /// The endpoint of `method` `path`, and its `{id}` as a route parameter.
    static func route(_ method: HTTPRequest.Method, _ path: String, in endpoints: [AdminEndpoint]) -> (AdminEndpoint, Parameters)? {
        let segments = path.split(separator: "/")
        for endpoint in endpoints where endpoint.method == method {
            let pattern = endpoint.path.split(separator: "/")
            guard pattern.count == segments.count else { continue }
            var parameters = Parameters()
            let matches = zip(pattern, segments).allSatisfy { expected, actual in
                if expected.hasPrefix("{") {
                    parameters.append(key: expected.dropFirst().dropLast(), value: actual)
                    return true
                }
                return expected == actual
            }
            if matches { return (endpoint, parameters) }
        }
        return nil
    }
}

/// What a response body wrote, for `perform`.
final class CollectedBody: Sendable {
    let buffer = Mutex(ByteBuffer())
}

struct CollectingWriter: ResponseBodyWriter {
    let into: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        into.buffer.withLock { $0.writeImmutableBuffer(buffer) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
