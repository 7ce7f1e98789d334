import Foundation
import Hummingbird
import NIOCore

/// A JSON body with an explicit status. Keys are sorted so responses are stable.
public struct JSONResponse<Body: Encodable & Sendable>: ResponseGenerator {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// The value encoded as the body.
    public let body: Body

    /// A response with `status` and `body`.
    public init(_ status: HTTPResponse.Status, _ body: Body) {
        self.status = status
        self.body = body
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try encoded()
    }

    /// The response, for handlers that build one outside `ResponseGenerator`.
    public func encoded() throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(body)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
