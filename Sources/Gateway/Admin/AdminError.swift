import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy

/// An admin API failure, answered as `{"error": {"type", "message", "field"?}}` with a
/// 4xx or 5xx status. Every message says what went wrong and what to do.
public struct AdminError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// A stable machine-readable kind: `invalid_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `payload_too_large`, `unavailable`.
    public var type: String
    public var message: String
    public var field: String?

    public init(_ status: HTTPResponse.Status, _ type: String, _ message: String, field: String? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    static func invalid(_ message: String, field: String? = nil) -> AdminError {
        AdminError(.badRequest, "invalid_request", message, field: field)
    }

    /// The answer to a refused policy command or query.
    init(_ error: PolicyError) {
        switch error {
        case .invalid where error.field == "cursor" || error.field == "limit":
            self.init(.badRequest, "invalid_request", error.description, field: error.field)  // the request, not the data
        case .invalid, .unknownReference:
            self.init(.unprocessableContent, "invalid_request", error.description, field: error.field)
        case .notFound:
            self.init(.notFound, "not_found", error.description)
        case .referenced, .alreadyExists:
            self.init(.conflict, "conflict", error.description)
        }
    }

    init(_ error: PolicyAccessError) {
        switch error {
        case let .refused(policyError): self.init(policyError)
        case let .unavailable(reason): self.init(.serviceUnavailable, "unavailable", reason)
        }
    }

    struct Body: Encodable, Sendable {
        struct Detail: Encodable, Sendable {
            var type: String
            var message: String
            var field: String?
        }
        var error: Detail
    }

    func response() -> Response {
        var response = (try? JSONResponse(status, Body(error: .init(type: type, message: message, field: field))).encoded())
            ?? Response(status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer realm=\"weir-admin\"" }
        if status == .serviceUnavailable { response.headers[.retryAfter] = "1" }
        return response
    }
}
