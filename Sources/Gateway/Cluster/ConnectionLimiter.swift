import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// The HTTP listener's limits (DESIGN.md section 6): what one node accepts before it says
/// 503 instead of falling over.
public struct HTTPServerLimits: Sendable, Equatable {
    /// `http.connections_max`: open client connections; one more is answered 503 with
    /// `Retry-After` and closed.
    public var connectionsMax = 4_096
    /// `http.in_flight_max`: data-plane requests being served at once; one more is a 503
    /// with `Retry-After` in its endpoint's dialect.
    public var inFlightMax = 1_024
    /// `http.idle_timeout_seconds`: how long a connection may sit between requests, or
    /// dribble a request head, before it is closed (a slowloris holds a slot no longer).
    public var idleTimeoutSeconds = 60
    /// `http.body_timeout_seconds`: how long reading one request body may take.
    public var bodyTimeoutSeconds = 60
    /// `http.header_bytes_max`: the most bytes of header fields in one request.
    public var headerBytesMax = 32_768
    /// The most header fields in one request.
    public static let headerFieldsMax = 200
    /// What a refused client is told to wait, in seconds.
    public static let retryAfterSeconds = 1

    public init() {}
}

/// Counts a node's client connections and refuses those over `connectionsMax` with a 503,
/// closes a connection whose request body takes longer than `bodyTimeoutSeconds`, and
/// answers `CONNECT` (Weir is no tunnel) with a 405 and closes: NIO frames every answer to
/// a `CONNECT` without a body or a length, so only the close can tell the client it ended.
/// A request NIO cannot parse (raw non-ASCII bytes in its target, a control character in a
/// header) gets a 400 with a JSON body that says so, where Hummingbird would send an empty one.
/// One instance per connection, sharing one counter; it sits after Hummingbird's HTTP
/// decoding, so it sees request parts.
public final class ConnectionLimiter: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// The count of open connections, shared by every limiter of one listener.
    public final class Counter: Sendable {
        let open = Atomic<Int>(0)
        public init() {}
        /// Connections open now.
        public var current: Int { open.load(ordering: .relaxed) }
    }

    private let counter: Counter
    private let limits: HTTPServerLimits
    private var counted = false
    private var refused = false
    /// Set once the connection is answered for the last time: what else arrives is dropped.
    private var closing = false
    /// Between a request's head and its end: an answer to it may be under way already.
    private var inRequest = false
    /// Between an answer's head and its end (a stream may outlast its request).
    private var inResponse = false
    private var bodyDeadline: Scheduled<Void>?

    public init(counter: Counter, limits: HTTPServerLimits) {
        self.counter = counter
        self.limits = limits
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        let open = counter.open.wrappingAdd(1, ordering: .relaxed).newValue
        counted = true
        refused = open > limits.connectionsMax
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        release()
        bodyDeadline?.cancel()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        guard !closing else { return }
        if refused {
            if case .head = part { refuse(context) }
            return
        }
        switch part {
        case let .head(request) where request.method == .connect:
            guard !inResponse else {
                // Pipelined behind an answer still being written: no second answer, just the close.
                closing = true
                context.close(promise: nil)
                return
            }
            refuseConnect(context)
            return
        case .head:
            inRequest = true
            startBodyDeadline(context)
        case .end:
            inRequest = false
            bodyDeadline?.cancel()
            bodyDeadline = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: inResponse = true
        case .end: inResponse = false
        case .body: break
        }
        context.write(data, promise: promise)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, !inRequest, !inResponse, !closing else { return context.fireErrorCaught(error) }
        let reason = "\(error)".filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        answerAndClose(context, .badRequest, json: #"{"error":{"message":"the request is not valid HTTP/1.1 (\#(reason)): a request target must be ASCII, "#
            + #"percent-encoded where needed, and header values may not hold control characters; nothing was done","type":"invalid_request_error","code":"malformed_request"}}"#)
    }

    private func refuseConnect(_ context: ChannelHandlerContext) {
        answerAndClose(context, .methodNotAllowed, headers: [.allow: "GET, HEAD, POST, PUT, PATCH, DELETE"])
    }

    private func release() {
        guard counted else { return }
        counted = false
        counter.open.subtract(1, ordering: .relaxed)
    }

    private func startBodyDeadline(_ context: ChannelHandlerContext) {
        bodyDeadline?.cancel()
        let channel = context.channel
        bodyDeadline = context.eventLoop.scheduleTask(in: .seconds(Int64(limits.bodyTimeoutSeconds))) { channel.close(promise: nil) }
    }

    private func refuse(_ context: ChannelHandlerContext) {
        answerAndClose(
            context, .serviceUnavailable, headers: [.retryAfter: String(HTTPServerLimits.retryAfterSeconds)],
            json: #"{"error":{"message":"this node has too many open connections (http.connections_max); retry shortly","type":"overloaded_error","code":"overloaded"}}"#)
    }

    /// The connection's last answer, written past Hummingbird, then the close; what else
    /// arrives on it is dropped.
    private func answerAndClose(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, headers: HTTPFields = [:], json body: String? = nil) {
        closing = true
        var head = HTTPResponse(status: status, headerFields: headers)
        head.headerFields[.connection] = "close"
        if let body {
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = String(body.utf8.count)
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
