/// Stage price: what the attempt costs per 1k tokens (`Metering.price`). An unpriced model
/// is refused unless the settings allow and flag it; the next attempt may be priced.
struct PriceAttempt: AttemptStage {
    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        switch Metering.price(attempt.attempt, state: exchange.state) {
        case let .success(quote):
            (attempt.price, attempt.unpriced) = quote
            return .proceed
        case let .failure(error):
            return .next(error)
        }
    }
}
