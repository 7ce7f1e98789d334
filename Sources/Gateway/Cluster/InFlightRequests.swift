import Hummingbird
import Synchronization

/// The data-plane requests a node is serving, streams until their last byte: a drain
/// waits for this to reach zero before the node leaves.
public final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)
    /// The most requests served at once (`http.in_flight_max`); one more is refused.
    public let limit: Int

    public init(limit: Int = .max) { self.limit = limit }

    /// Requests being served now.
    public var current: Int { count.load(ordering: .relaxed) }

    /// One request's place in the count, given back when it is released: after the body
    /// is written, or when the server drops a response it never wrote (a client gone).
    private final class Ticket: Sendable {
        let owner: InFlightRequests
        init(_ owner: InFlightRequests) {
            self.owner = owner
            owner.count.add(1, ordering: .relaxed)
        }
        deinit { owner.count.subtract(1, ordering: .relaxed) }
    }

    /// Counts `serve`'s request until its response body has been written or dropped; when
    /// `limit` requests are already in flight, answers `refusal` instead.
    func track(refusing refusal: @autoclosure () -> Response, _ serve: () async throws -> Response) async rethrows -> Response {
        let ticket = Ticket(self)
        guard count.load(ordering: .relaxed) <= limit else { return refusal() }
        var response = try await serve()
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { withExtendedLifetime(ticket) {} }
            try await body.write(writer)
        }
        return response
    }
}
