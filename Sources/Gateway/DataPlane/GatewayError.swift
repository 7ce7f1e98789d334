import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy

/// A data-plane failure, answered in the caller's dialect: OpenAI's
/// `{"error": {"message", "type", "param", "code"}}` or Anthropic's
/// `{"type": "error", "error": {"type", "message"}}`. Every message says what went wrong
/// and what to do.
struct GatewayError: Error, Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`,
    /// `permission_error`, `rate_limit_error`, `api_error` …).
    var type: String
    /// A stable code (`invalid_api_key`, `model_not_found`, `quota_exceeded` …).
    var code: String
    var message: String
    var param: String?
    /// Seconds the caller should wait (429 and 503).
    var retryAfter: Int?
    /// The refusing quota's rate-limit headers (a quota's 429).
    var rateLimits: RateLimitHeaders? = nil

    var description: String { "\(status.code) \(code): \(message)" }

    static func invalid(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(status: .badRequest, type: "invalid_request_error", code: "invalid_request", message: message, param: param)
    }

    /// A fault of the gateway's own code, not of the request: 500, reported as such.
    static func internalFault(_ what: String) -> GatewayError {
        GatewayError(status: .internalServerError, type: "api_error", code: "internal_error",
                     message: "the gateway failed: \(what); this is a fault of the gateway, please report it")
    }

    /// The answer when the node serves `http.in_flight_max` requests already.
    static var overloaded: GatewayError {
        GatewayError(status: .serviceUnavailable, type: "overloaded_error", code: "overloaded",
                     message: "this node is serving as many requests as it may (http.in_flight_max); retry shortly", retryAfter: HTTPServerLimits.retryAfterSeconds)
    }

    static func modelNotAllowed(_ token: ClientToken, model: String) -> GatewayError {
        GatewayError(
            status: .forbidden, type: "permission_error", code: "model_not_allowed",
            message: "token \(token.id) may not use \(model); it may use \(token.models?.joined(separator: ", ") ?? "")", param: "model")
    }

    static func authentication(_ failure: TokenAuthenticator.Failure) -> GatewayError {
        failure.isUnauthenticated
            ? GatewayError(status: .unauthorized, type: "authentication_error", code: "invalid_api_key", message: failure.message)
            : GatewayError(status: .forbidden, type: "permission_error", code: "insufficient_scope", message: failure.message)
    }

    enum Dialect: Sendable { case openAI, anthropic }

    func response(_ dialect: Dialect) -> Response {
        let body: [String: Any]
        switch dialect {
        case .openAI:
            body = ["error": ["message": message, "type": type, "param": param ?? NSNull(), "code": code] as [String: Any]]
        case .anthropic:
            body = ["type": "error", "error": ["type": anthropicType, "message": message]]
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        rateLimits?.add(to: &headers, dialect)
        let data = JSONField.encode(body, sorted: true) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Anthropic's name for the same failure.
    private var anthropicType: String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        case 503 where code == "overloaded" || code == "upstream_busy": "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }
}
