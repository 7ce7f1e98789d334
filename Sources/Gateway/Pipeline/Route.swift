import Hummingbird
import Policy

/// Stage route: the attempts for the model in order (alias, deployments ordered by the
/// routing strategy, then the fallback chain); 404 `model_not_found` when none serves it.
/// Also estimates the prompt's tokens on the body as it will leave (redacted).
struct Route: RequestStage {
    let router: ModelRouter

    func run(_ exchange: inout Exchange) async throws(GatewayError) -> Response? {
        exchange.attempts = router.plan(requested: exchange.model, organization: exchange.caller.organization, state: exchange.state)
        guard !exchange.attempts.isEmpty else {
            throw GatewayError(
                status: .notFound, type: "invalid_request_error", code: "model_not_found",
                message: "model \(exchange.model) is not served here; GET /v1/models lists the models you may use", param: "model")
        }
        exchange.promptEstimate = TokenEstimate.prompt(exchange.body)
        return nil
    }
}
