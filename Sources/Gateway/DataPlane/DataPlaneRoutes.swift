import AsyncHTTPClient
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Policy

/// The data plane: OpenAI's `POST /v1/chat/completions` (whole or streamed),
/// `POST /v1/embeddings` and `GET /v1/models`, Anthropic's `POST /v1/messages` and
/// `/v1/messages/count_tokens`, either dialect to any provider, through the named stages
/// of `Pipeline` (DESIGN.md section 3).
public struct DataPlaneRoutes<Context: RequestContext>: Sendable {
    /// The largest request body accepted.
    public static var requestBytesMax: Int { 4 << 20 }
    /// The largest whole (not streamed) upstream answer relayed.
    public static var responseBytesMax: Int { 16 << 20 }
    /// How long one upstream attempt may take, streaming included.
    public static var upstreamTimeout: Duration { .seconds(300) }
    /// The largest upstream error body or token count read.
    public static var upstreamSmallBodyBytesMax: Int { 1 << 20 }
    /// How long a provider's token count may take before the gateway estimates instead.
    public static var countTokensTimeout: Duration { .seconds(30) }
    /// How long an upstream connection may stay silent (before the answer's head, or
    /// between two chunks of a stream) before the attempt counts as timed out.
    public static var upstreamIdleTimeout: Int64 { 120 }
    /// How long connecting to a provider may take.
    public static var upstreamConnectTimeout: Int64 { 10 }
    /// How long an idle pooled connection to a provider is kept, in seconds.
    public static var upstreamPoolIdleTimeout: Int64 { 60 }
    /// The HTTP client for provider calls, with the limits above and `limits`' connections
    /// per host (calls past them wait, up to `limits.queuedPerHost`; see `UpstreamSlots`).
    /// The node shuts it down when it stops.
    public static func makeUpstreamClient(_ limits: UpstreamLimits = UpstreamLimits()) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(upstreamConnectTimeout), read: .seconds(upstreamIdleTimeout)))
        configuration.connectionPool = .init(idleTimeout: .seconds(upstreamPoolIdleTimeout), concurrentHTTP1ConnectionsPerHostSoftLimit: limits.connectionsPerHost)
        // No tracer is bootstrapped yet; with the default (a no-op tracer) the client still
        // parses each request's URL for span attributes, a few percent of a request's cost.
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// What the stages share.
    let services: DataPlaneServices
    /// The stages of `POST /v1/chat/completions`, `/v1/embeddings` and `/v1/messages`.
    let pipeline: Pipeline
    /// The requests being served (a drain waits for them).
    let inFlight: InFlightRequests

    public init(
        reader: any PolicyReader, quota: any QuotaGate, usage: any UsageSink, sealer: CredentialSealer, client: HTTPClient = .shared,
        metrics: any MetricsFactory = MetricsSystem.factory, inFlight: InFlightRequests = InFlightRequests(), upstreamLimits: UpstreamLimits = UpstreamLimits(),
        logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        let limits = DataPlaneLimits(
            requestBytesMax: Self.requestBytesMax, responseBytesMax: Self.responseBytesMax, upstreamTimeout: Self.upstreamTimeout,
            upstreamSmallBodyBytesMax: Self.upstreamSmallBodyBytesMax)
        services = DataPlaneServices(
            reader: reader, quota: quota, usageSink: usage, sealer: sealer, client: client, clock: clock, logger: logger,
            metrics: DataPlaneMetrics(factory: metrics), upstreamSlots: UpstreamSlots(upstreamLimits), limits: limits)
        pipeline = Pipeline(services)
        self.inFlight = inFlight
    }

    public func register(on router: Router<Context>) {
        for (path, endpoint) in [("/v1/chat/completions", ClientEndpoint.chat), ("/v1/embeddings", .embeddings), ("/v1/messages", .messages)] {
            router.post(RouterPath(path)) { request, _ in
                await self.inFlight.track(refusing: GatewayError.overloaded.response(endpoint.dialect)) {
                    do throws(GatewayError) {
                        return try await self.pipeline.run(request, endpoint)
                    } catch {
                        return error.response(endpoint.dialect)
                    }
                }
            }
        }
        router.post("/v1/messages/count_tokens") { request, _ in
            do {
                return try await self.countTokens(request)
            } catch let error as GatewayError {
                return error.response(.anthropic)
            }
        }
        router.get("/v1/models") { request, _ in
            do {
                return try self.models(request)
            } catch let error as GatewayError {
                return error.response(.openAI)
            }
        }
    }

    /// `GET /v1/models`: the model names this caller may ask for.
    func models(_ request: Request) throws(GatewayError) -> Response {
        let (state, caller) = try pipeline.authenticate.run(request)
        var names = Set(state.deployments.values.map(\.model))
        for alias in state.aliases.values where alias.organization == nil || alias.organization == caller.organization { names.insert(alias.requestedModel) }
        names = names.filter { caller.token.allows(model: $0, resolved: state.resolveAlias($0, organization: caller.organization)) }
        let data = names.sorted().map { ["id": $0, "object": "model", "created": 0, "owned_by": "weir"] as [String: Any] }
        let body = JSONField.encode(["object": "list", "data": data], sorted: true) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension DataPlaneRoutes {
    /// `POST /v1/messages/count_tokens`: the provider's count when the model is served by
    /// Anthropic, else the gateway's estimate. Not priced, not counted against quotas, but
    /// held to the same model allow-list and DLP policy as a message: the body leaves the
    /// node too.
    func countTokens(_ request: Request) async throws(GatewayError) -> Response {
        var exchange = try await pipeline.intake(request, .messages)
        exchange.usage.endpoint = "messages.count_tokens"
        _ = try await Authorize().run(&exchange)
        _ = try Redact(redactor: services.redactor).screen(
            &exchange.body, request: request, caller: exchange.caller, state: exchange.state, usage: &exchange.usage)
        let attempts = services.router.plan(requested: exchange.model, organization: exchange.caller.organization, state: exchange.state)
        if let attempt = attempts.first(where: { $0.provider == .anthropic }) {
            exchange.body["model"] = attempt.upstreamModel
            let bytes = Array(JSONField.encode(exchange.body) ?? Data())
            let upstream = try Upstream.anthropic(
                "/messages/count_tokens", attempt, sealer: services.sealer, body: bytes, version: request.headers[Translate.anthropicVersionHeader])
            if let response = try? await services.client.execute(upstream, timeout: .init(Self.countTokensTimeout)), response.status.code == 200,
               let answer = try? await response.body.collect(upTo: Self.upstreamSmallBodyBytesMax) {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
            }
        }
        let estimate = ["input_tokens": TokenEstimate.prompt(exchange.body)]
        let data = JSONField.encode(estimate) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Rough token counts for reservations before the provider reports the real ones.
enum TokenEstimate {
    /// About one token per four UTF-8 bytes of the messages' text, at least one.
    static func prompt(_ body: [String: Any]) -> Int {
        var bytes = 0
        for message in body["messages"] as? [[String: Any]] ?? [] {
            if let text = message["content"] as? String { bytes += text.utf8.count }
            for part in message["content"] as? [[String: Any]] ?? [] { bytes += (part["text"] as? String)?.utf8.count ?? 0 }
        }
        if let system = body["system"] as? String { bytes += system.utf8.count }
        if let input = body["input"] as? String { bytes += input.utf8.count }
        for input in body["input"] as? [String] ?? [] { bytes += input.utf8.count }
        return max(1, (bytes + 3) / 4)
    }

    /// The output the request may produce: its own limit, else the deployment's, else the
    /// default, for each of the choices it asks for. Both factors are bounded
    /// (`RequestNumbers.outputTokensMax`, `choicesMax`), so the product cannot overflow.
    static func output(_ numbers: RequestNumbers, deployment: Deployment?) -> Int {
        let each = numbers.outputTokens ?? deployment?.maxOutputTokens ?? Metering.outputTokensDefault
        return max(1, min(each, RequestNumbers.outputTokensMax)) * numbers.choices
    }
}
