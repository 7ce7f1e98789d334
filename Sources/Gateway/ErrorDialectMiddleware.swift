import HTTPTypes
import Hummingbird

/// Answers what Hummingbird itself refuses (a path no route serves, a method its route
/// lacks, a body it could not read) in the dialect of the endpoint asked for, with a JSON
/// body that says what to do, instead of a bare status. Weir's own handlers answer their
/// failures themselves; only Hummingbird throws its `HTTPResponseError`s (`HTTPError`,
/// `NIOTooManyBytesError` for a body past a route's limit …).
public struct ErrorDialectMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The most of the request's path quoted back in the message.
    static var pathBytesQuotedMax: Int { 200 }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let http = error as? HTTPError
            var response = Self.answer(status: error.status, message: http?.body, method: request.method, path: request.uri.path)
            response.headers.append(contentsOf: (http?.headers ?? [:]).filter { $0.name != .contentType && $0.name != .contentLength })
            return response
        }
    }

    static func answer(status: HTTPResponse.Status, message given: String?, method: HTTPRequest.Method, path: String) -> Response {
        let quoted = String(decoding: path.utf8.prefix(pathBytesQuotedMax), as: UTF8.self)
        let notFound = status == .notFound
        let message = notFound
            ? "no route serves \(method.rawValue) \(quoted) on this node; GET /openapi.json lists every route and its methods"
            : status == .contentTooLarge
            ? "the request body is larger than \(method.rawValue) \(quoted) accepts; GET /openapi.json and docs/reliability.md give each limit"
            : (given ?? "the request could not be handled (\(status.code) \(status.reasonPhrase)); check it against GET /openapi.json")
        if path.hasPrefix("/v1/") {
            let failure = GatewayError(
                status: status, type: status.code >= 500 ? "api_error" : "invalid_request_error",
                code: notFound ? "unknown_url" : "invalid_request", message: message)
            return failure.response(path.hasPrefix("/v1/messages") ? .anthropic : .openAI)
        }
        let type = notFound ? "not_found" : status.code >= 500 ? "unavailable" : "invalid_request"
        return AdminError(status, type, message).response()
    }
}
