import Hummingbird
import Synchronization

/// The data-plane requests a node is serving, streams until their last byte: a drain
/// waits for this to reach zero before the node leaves.
public final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    /// Requests being served now.
    public var current: Int { count.load(ordering: .relaxed) }

    /// Counts `serve`'s request until its response body has been written (or failed).
    func track(_ serve: () async throws -> Response) async rethrows -> Response {
        count.add(1, ordering: .relaxed)
        var response: Response
        do {
            response = try await serve()
        } catch {
            count.subtract(1, ordering: .relaxed)
            throw error
        }
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { [self] writer in
            defer { self.count.subtract(1, ordering: .relaxed) }
            try await body.write(writer)
        }
        return response
    }
}
