import Hummingbird
import Policy

/// A step every request takes once, before its attempts (authorize, redact, cache, route):
/// it reads and adds to the exchange, answers early (a cache hit), or throws the error the
/// client gets. The runner records a thrown error as the request's usage event.
protocol RequestStage: Sendable {
    func run(_ exchange: inout Exchange) async throws(GatewayError) -> Response?
}

/// A step of every attempt of the route plan (price, translate, take a slot, admit,
/// forward, answer). A stage that takes something hands its release to the attempt as it
/// takes it (`AttemptExchange.hold`); the runner ends every release of the attempt, in
/// reverse order, however the attempt ends.
protocol AttemptStage: Sendable {
    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep
}

/// What a stage took for one attempt (a slot, a reservation, a deployment's in-flight
/// count), given back when the attempt ends. `attempt.streaming` says whether a streamed
/// body took it over.
protocol Release: Sendable {
    func end(_ attempt: AttemptExchange)
}

/// How an attempt stage ends.
enum AttemptStep {
    /// On to the next stage.
    case proceed
    /// This attempt cannot serve; the next one of the plan may (the error is the
    /// client's if none can).
    case next(GatewayError)
    /// The request ends with this error, recorded as the attempt's usage event.
    case fail(GatewayError)
    /// The request ends with this answer (the stage recorded its usage).
    case answer(Response)
}

/// The data plane's pipeline (DESIGN.md section 3): the intake (authenticate, read), the
/// request stages in order, then the attempt stages for each attempt of the route plan
/// until one answers. Adding a stage is one file and one line in a list below.
struct Pipeline: Sendable {
    let services: DataPlaneServices
    let authenticate: Authenticate
    let read: ReadBody
    let requestStages: [any RequestStage]
    let attemptStages: [any AttemptStage]

    /// The stages in their order; adding one is a line here.
    init(_ services: DataPlaneServices) {
        self.init(
            services: services,
            requestStages: [
                Authorize(),
                Redact(redactor: services.redactor),
                CacheLookup(cache: services.cache, quota: services.quota, clock: services.clock),
                Route(router: services.router),
            ],
            attemptStages: [
                PriceAttempt(),
                Translate(sealer: services.sealer),
                TakeSlot(slots: services.upstreamSlots),
                Admit(quota: services.quota, clock: services.clock),
                Forward(client: services.client, stats: services.router.stats, logger: services.logger, limits: services.limits),
                RelayStream(quota: services.quota, stats: services.router.stats, clock: services.clock),
                Answer(quota: services.quota, cache: services.cache, clock: services.clock, limits: services.limits),
            ])
    }

    init(services: DataPlaneServices, requestStages: [any RequestStage], attemptStages: [any AttemptStage]) {
        self.services = services
        authenticate = Authenticate(reader: services.reader, clock: services.clock)
        read = ReadBody(bytesMax: services.limits.requestBytesMax)
        self.requestStages = requestStages
        self.attemptStages = attemptStages
    }

    /// Serves one request of `endpoint`, or throws the error its client gets.
    func run(_ request: Request, _ endpoint: ClientEndpoint) async throws(GatewayError) -> Response {
        var exchange = try await intake(request, endpoint)
        do {
            for stage in requestStages {
                if let early = try await stage.run(&exchange) { return early }
            }
        } catch {
            throw exchange.usage.failed(error)
        }
        return try await attempts(exchange)
    }

    /// Stages authenticate and read: the exchange every later stage works on.
    func intake(_ request: Request, _ endpoint: ClientEndpoint) async throws(GatewayError) -> Exchange {
        let (state, caller) = try authenticate.run(request)
        let (body, raw) = try await read.run(request)
        let numbers = try RequestNumbers.read(body, endpoint: endpoint)
        let usage = UsageContext(
            sink: services.usageSink, metrics: services.metrics, time: services.clock(), endpoint: endpoint.name, caller: caller,
            requestedModel: numbers.model, stream: numbers.stream, userAgent: request.headers[.userAgent], requestBytes: raw.count)
        return Exchange(
            request: request, endpoint: endpoint, state: state, caller: caller, body: body, raw: raw, numbers: numbers, usage: usage,
            model: numbers.model, resolved: numbers.model)
    }

    /// Each attempt in turn until one answers or fails the request; the last error of the
    /// plan when none could.
    func attempts(_ exchange: Exchange) async throws(GatewayError) -> Response {
        var failure: GatewayError?
        for (number, attempt) in exchange.attempts.enumerated() {
            var current = AttemptExchange(attempt: attempt, number: number, isLast: number == exchange.attempts.count - 1)
            let step = await run(&current, exchange)
            for release in current.releases.reversed() { release.end(current) }
            switch step {
            case let .answer(response): return response
            case let .next(error): failure = error
            case let .fail(error):
                exchange.usage.record(attempt, attempts: current.attempts, status: Int(error.status.code), error: error.code, message: error.message)
                throw error
            case .proceed: failure = .internalFault("the attempt stages ended without an answer")
            }
        }
        let error = failure ?? GatewayError(status: .badGateway, type: "api_error", code: "no_attempt", message: "no deployment could serve \(exchange.model)")
        exchange.usage.record(nil, attempts: exchange.attempts.count, status: Int(error.status.code), error: error.code, message: error.message)
        throw error
    }

    /// The attempt stages in order until one ends the attempt.
    private func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        for stage in attemptStages {
            let step = await stage.run(&attempt, exchange)
            guard case .proceed = step else { return step }
        }
        return .proceed
    }
}
