import HTTPTypes
import Hummingbird

/// Names the node that answered in every response (`x-weir-node: 2`), errors included:
/// behind a load balancer, an operator reading a client's log, and the chaos harness
/// attributing an admission to a node's clock, need to know which node decided.
public struct NodeHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The header's name.
    public static var name: HTTPField.Name { HTTPField.Name("x-weir-node")! }
    let value: String

    /// Stamps `nodeID` into every response.
    public init(nodeID: UInt64) { value = String(nodeID) }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[Self.name] = value
        return response
    }
}
