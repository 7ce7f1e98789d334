import HTTPTypes
import Hummingbird
import Policy

/// Stage authorize: the model to serve (the calling agent's profile model with
/// `x-weir-cost-mode: normal|heavy|max`, else the one asked for), what its alias resolves
/// to, and whether the token may use it (403 `model_not_allowed`).
struct Authorize: RequestStage {
    static let costModeHeader = HTTPField.Name("x-weir-cost-mode")!

    func run(_ exchange: inout Exchange) async throws(GatewayError) -> Response? {
        try choose(&exchange.model, &exchange.resolved, request: exchange.request, caller: exchange.caller, state: exchange.state)
        return nil
    }

    /// Sets `model` (which arrives as the one asked for) and `resolved`, or throws.
    func choose(_ model: inout String, _ resolved: inout String, request: Request, caller: Caller, state: PolicyState) throws(GatewayError) {
        model = try Self.costModeModel(request, requested: model, caller: caller, state: state)
        resolved = state.resolveAlias(model, organization: caller.organization)
        guard caller.token.allows(model: model, resolved: resolved) else { throw GatewayError.modelNotAllowed(caller.token, model: model) }
    }

    static func costModeModel(_ request: Request, requested: String, caller: Caller, state: PolicyState) throws(GatewayError) -> String {
        guard let value = request.headers[costModeHeader] else { return requested }
        guard let mode = CostMode(rawValue: value.lowercased()) else {
            throw GatewayError.invalid("x-weir-cost-mode: '\(value.prefix(40))' is not one of normal, heavy, max", param: "x-weir-cost-mode")
        }
        return state.profileModel(for: caller.token.principal, mode: mode) ?? requested
    }
}
