import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Policy
import QuotaCRDT

/// The endpoints clients call, by dialect.
enum ClientEndpoint: Sendable {
    case chat, embeddings, messages

    /// Its name in usage events.
    var name: String {
        switch self {
        case .chat: "chat.completions"
        case .embeddings: "embeddings"
        case .messages: "messages"
        }
    }

    var dialect: GatewayError.Dialect { self == .messages ? .anthropic : .openAI }
}

/// The dialect a provider speaks.
enum ProviderDialect: Sendable {
    case openAI, anthropic

    init(_ provider: Credential.Provider) { self = provider == .anthropic ? .anthropic : .openAI }
}

extension DataPlaneRoutes {
    /// `POST /v1/chat/completions`, `/v1/embeddings` and `/v1/messages`: each attempt is
    /// translated to its provider's dialect, priced, admitted against every quota that
    /// applies, forwarded, and settled exactly once with the usage the provider reports;
    /// a failure among the chain's triggers moves on to the next attempt.
    func forward(_ request: Request, _ endpoint: ClientEndpoint) async throws(GatewayError) -> Response {
        let state = reader.current
        let caller = try caller(request, state: state, now: clock())
        var (body, raw) = try await jsonBody(request)
        let numbers = try RequestNumbers.read(body, endpoint: endpoint)
        let requested = numbers.model, stream = numbers.stream
        let clientWantsUsage = ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
        var usage = UsageContext(
            sink: usageSink, metrics: metrics, time: clock(), endpoint: endpoint.name, caller: caller, requestedModel: requested, stream: stream,
            userAgent: request.headers[.userAgent], requestBytes: raw.count)
        let model = try costModeModel(request, requested: requested, caller: caller, state: state)
        let resolved = state.resolveAlias(model, organization: caller.organization)
        guard caller.token.allows(model: model, resolved: resolved) else {
            throw usage.failed(GatewayError.modelNotAllowed(caller.token, model: model))
        }
        let redaction: Redaction
        do { redaction = try screen(&body, request: request, caller: caller, state: state, usage: &usage) } catch { throw usage.failed(error) }
        let restorer = PlaceholderRestorer(redaction)
        // The body as sent, to forward with surgical edits, unless DLP changed it.
        let sent = redaction.isEmpty ? JSONMembers(raw) : nil
        let attempts = router.plan(requested: model, organization: caller.organization, state: state)
        let cacheKey = cacheKey(request, endpoint, caller: caller, model: resolved, body: body, stream: stream, settings: state.settings)
        if let cacheKey, let hit = cache.get(cacheKey, now: clock()) {
            return try await cached(hit, caller: caller, state: state, restorer: restorer, usage: usage, dialect: endpoint.dialect)
        }
        guard !attempts.isEmpty else {
            throw usage.failed(GatewayError(
                status: .notFound, type: "invalid_request_error", code: "model_not_found",
                message: "model \(model) is not served here; GET /v1/models lists the models you may use", param: "model"))
        }
        let promptEstimate = TokenEstimate.prompt(body)
        var failure: GatewayError?
        for (number, attempt) in attempts.enumerated() {
            let isLast = number == attempts.count - 1
            let quote: (price: Price?, flagged: Bool)
            switch Metering.price(attempt, state: state) {
            case let .success(found): quote = found
            case let .failure(error):
                failure = error
                continue
            }
            let outputEstimate = endpoint == .embeddings ? 0 : TokenEstimate.output(numbers, deployment: attempt.deployment)
            let upstream: HTTPClientRequest
            do {
                upstream = try upstreamRequest(endpoint, attempt, body: body, sent: sent, stream: stream, maxTokens: outputEstimate, request: request, settings: state.settings)
            } catch {
                failure = error
                continue
            }
            // A bounded number of calls per provider host, open or waiting for a connection.
            guard let slot = upstreamSlots.take(for: upstream.url) else {
                let host = UpstreamSlots.host(of: upstream.url)
                failure = .upstreamBusy(host, open: upstreamSlots.count(host), model: attempt.model)
                continue
            }
            // Held until the answer is read, or by the relay until the stream ends.
            var slotHandedOff = false
            defer { if !slotHandedOff { slot.release() } }
            // Stage admit: all-or-nothing over the caller's lanes and the credential's.
            let estimate = Metering.usage(quote.price, input: promptEstimate, output: outputEstimate)
            let subjects = caller.subjects + (attempt.credential.map { [(lane: QuotaLane.key, subject: $0.id)] } ?? [])
            let reservation: ReservationID
            switch await quota.reserve(estimate, against: Metering.quotas(for: subjects, state: state)) {
            case let .success(id): reservation = id
            case let .failure(refusal):
                let error = Metering.refusal(refusal, now: clock())
                usage.record(attempt, attempts: number + 1, status: 429, error: error.code, message: error.message)
                throw error
            }
            // Stage forward.
            // Ollama's pass-through models are named by the client: they share one entry.
            let deploymentID = attempt.deployment?.id ?? DeploymentStats.passThroughKey
            router.stats.started(deploymentID)
            let started = ContinuousClock.now
            let response: HTTPClientResponse
            do {
                response = try await client.execute(upstream, timeout: .init(Self.upstreamTimeout))
            } catch {
                router.stats.finished(deploymentID, latencyMicroseconds: nil)
                quota.cancel(reservation)
                let trigger = Upstream.trigger(error: error)
                failure = GatewayError(
                    status: trigger == .timeout ? .gatewayTimeout : .badGateway, type: "api_error", code: "upstream_\(trigger.rawValue)",
                    message: "\(attempt.provider.rawValue) did not answer for \(attempt.model) (\(trigger.rawValue)); retry later")
                if !isLast && attempt.triggers.contains(trigger) { continue }
                usage.record(attempt, attempts: number + 1, status: Int(failure!.status.code), error: failure!.code, message: failure!.message)
                throw failure!
            }
            let latency = Self.microseconds(ContinuousClock.now - started)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let text = (try? await response.body.collect(upTo: Self.upstreamSmallBodyBytesMax)).map { String(buffer: $0) } ?? ""
                router.stats.finished(deploymentID, latencyMicroseconds: latency)
                quota.cancel(reservation)
                if let trigger = Upstream.trigger(status: status), !isLast, attempt.triggers.contains(trigger) {
                    logger.info("upstream failed; trying the next attempt", metadata: ["model": "\(attempt.model)", "status": "\(status)"])
                    continue
                }
                usage.record(attempt, attempts: number + 1, status: status, error: "upstream_error", latency: latency, message: text.prefix(bytes: UsageContext.messageBytesMax))
                return upstreamError(status: status, text: text, attempt: attempt, endpoint: endpoint)
            }
            var headers: HTTPFields = [Self.modelHeader: attempt.model]
            if quote.flagged { headers[Self.unpricedHeader] = "true" }
            RateLimitHeaders(limits: quota.rateLimits(of: reservation), now: clock()).add(to: &headers, endpoint.dialect)
            let settlement = Settlement(
                quota: quota, stats: router.stats, reservation: reservation, price: quote.price, promptEstimate: promptEstimate, deployment: deploymentID,
                latency: latency, usage: usage, attempt: attempt, attempts: number + 1, unpriced: quote.flagged)
            if stream {
                headers[.contentType] = "text/event-stream"
                headers[.cacheControl] = "no-cache"
                var translator = Self.translator(from: ProviderDialect(attempt.provider), to: endpoint.dialect, model: attempt.model,
                                                 clientWantsUsage: clientWantsUsage, inputEstimate: promptEstimate)
                if !redaction.isEmpty { translator = RestoringTranslator(inner: translator, restorer: restorer, dialect: endpoint.dialect) }
                slotHandedOff = true
                return relay(response, headers: headers, translator: translator, settlement: settlement, slot: slot)
            }
            let answer: ByteBuffer
            do {
                answer = try await response.body.collect(upTo: Self.responseBytesMax)
            } catch {
                settlement.settle(input: promptEstimate, output: outputEstimate, status: 502, error: "upstream_broken")
                throw GatewayError(status: .badGateway, type: "api_error", code: "upstream_broken",
                                   message: "the answer of \(attempt.provider.rawValue) for \(attempt.model) broke off or exceeded \(Self.responseBytesMax) bytes; retry")
            }
            // Stage settle: the provider's usage (the estimate's input when it reports none).
            // An answer relayed as it is (same dialect, nothing to restore) has only its usage
            // member decoded; the others are decoded whole.
            let relayedAsIs = ProviderDialect(attempt.provider) == (endpoint.dialect == .anthropic ? .anthropic : .openAI) && redaction.isEmpty
            let scanned = relayedAsIs ? AnswerUsage.scan(answer) : nil
            guard let object = scanned != nil ? [:] : (try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView))) as? [String: Any] else {
                settlement.settle(input: promptEstimate, output: outputEstimate, status: 502, error: "upstream_malformed")
                throw GatewayError(status: .badGateway, type: "api_error", code: "upstream_malformed",
                                   message: "\(attempt.provider.rawValue) answered \(status) for \(attempt.model) with a body that is not a JSON object; retry")
            }
            let usage = scanned.map(\.usage) ?? object["usage"] as? [String: Any]
            let input = ReportedTokens.read(usage, "prompt_tokens", "input_tokens") ?? promptEstimate
            let output = ReportedTokens.read(usage, "completion_tokens", "output_tokens") ?? (usage == nil ? 0 : outputEstimate)
            settlement.settle(input: input, output: output)
            headers[.contentType] = "application/json"
            var translated: [String: Any]? = switch (ProviderDialect(attempt.provider), endpoint.dialect) {
            case (.openAI, .anthropic): ResponseTranslation.anthropic(fromOpenAI: object, model: attempt.model)
            case (.anthropic, .openAI): ResponseTranslation.openAI(fromAnthropic: object, model: attempt.model)
            default: nil
            }
            let clientBytes = translated.map { ByteBuffer(bytes: Array(JSONField.encode($0, sorted: true) ?? Data())) } ?? answer
            if let cacheKey {
                cache.put(cacheKey, .init(bytes: Array(clientBytes.readableBytesView), model: attempt.model,
                                          expiresAt: clock() + Int64(min(max(0, state.settings.cacheTTLSeconds), GatewaySettings.cacheTTLSecondsMax)) * 1000))
                headers[Self.cacheHeader] = "miss"
            }
            // Placeholders are plain ASCII, never escaped in JSON: an answer without one is relayed as it is.
            let restore = !redaction.isEmpty && restorer.appears(in: clientBytes.readableBytesView)
            if restore { translated = DLPStage.restore(translated ?? object, restorer) as? [String: Any] }
            let bytes = !restore ? clientBytes : ByteBuffer(bytes: Array(JSONField.encode(translated ?? object, sorted: true) ?? Data()))
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
        }
        let error = failure ?? GatewayError(status: .badGateway, type: "api_error", code: "no_attempt", message: "no deployment could serve \(model)")
        usage.record(nil, attempts: attempts.count, status: Int(error.status.code), error: error.code, message: error.message)
        throw error
    }

    /// Stage redact: nothing the caller's DLP policy detects leaves the node, unless the
    /// caller may bypass it and says why. Notes what it did in `usage`; throws when the
    /// policy blocks or could not scan in time (DLP fails closed).
    func screen(_ body: inout [String: Any], request: Request, caller: Caller, state: PolicyState, usage: inout UsageContext) throws(GatewayError) -> Redaction {
        guard let (policy, scope) = DLPStage.policy(for: caller, state: state) else { return Redaction() }
        if let reason = try DLPStage.bypassReason(request.headers, caller: caller) {
            usage.dlp = DLPOutcome(action: .bypass, policy: policy.id, scope: scope, reason: reason)
            return Redaction()
        }
        let redaction = DLPStage.redact(&body, with: redactor.detectors(for: policy), redactor: redactor)
        if redaction.timedOut != nil { throw DLPStage.timedOut(redaction, policy: policy) }
        if !redaction.isEmpty {
            usage.dlp = DLPOutcome(action: policy.action == .block ? .block : .redact, policy: policy.id, scope: scope, matches: redaction.counts)
            usage.redactions = redaction.counts.values.reduce(0, +)
        }
        if !redaction.isEmpty && policy.action == .block { throw DLPStage.blocked(redaction, policy: policy) }
        return redaction
    }

    /// The cache key of a request whose answer may come from the response cache: caching
    /// on, a deterministic whole request, and neither the token nor `Cache-Control` opting out.
    private func cacheKey(
        _ request: Request, _ endpoint: ClientEndpoint, caller: Caller, model: String, body: [String: Any], stream: Bool, settings: GatewaySettings
    ) -> String? {
        let control = request.headers[.cacheControl]?.lowercased() ?? ""
        guard settings.cacheTTLSeconds > 0, !stream, caller.token.cacheOptOut != true, !control.contains("no-cache"), !control.contains("no-store"),
              ResponseCache.isDeterministic(endpoint, body) else { return nil }
        return ResponseCache.key(endpoint, namespace: caller.token.namespace, model: model, body: body)
    }

    /// A cache hit: no provider call and no cost, but the request still counts against the
    /// caller's request caps.
    private func cached(
        _ hit: ResponseCache.Entry, caller: Caller, state: PolicyState, restorer: PlaceholderRestorer, usage: UsageContext, dialect: GatewayError.Dialect
    ) async throws(GatewayError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", Self.modelHeader: hit.model, Self.cacheHeader: "hit"]
        switch await quota.reserve(Usage(requests: 1), against: Metering.quotas(for: caller.subjects, state: state)) {
        case let .success(reservation):
            RateLimitHeaders(limits: quota.rateLimits(of: reservation), now: clock()).add(to: &headers, dialect)
            quota.settle(reservation, actual: Usage(requests: 1))
        case let .failure(refusal):
            let error = Metering.refusal(refusal, now: clock())
            usage.record(nil, attempts: 0, status: 429, error: error.code, message: error.message)
            throw error
        }
        usage.record(nil, attempts: 0, status: 200, error: nil, cachedModel: hit.model)
        var bytes = ByteBuffer(bytes: hit.bytes)
        if !restorer.originals.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(hit.bytes)),
           let restored = JSONField.encode(DLPStage.restore(object, restorer), sorted: true) {
            bytes = ByteBuffer(bytes: Array(restored))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }

    /// The request for `attempt`, in its provider's dialect, with the upstream model name.
    private func upstreamRequest(
        _ endpoint: ClientEndpoint, _ attempt: Attempt, body: [String: Any], sent: JSONMembers?, stream: Bool, maxTokens: Int, request: Request,
        settings: GatewaySettings
    ) throws(GatewayError) -> HTTPClientRequest {
        let dialect = ProviderDialect(attempt.provider)
        let bytes = try upstreamBody(endpoint, dialect, attempt, body: body, sent: sent, stream: stream, maxTokens: maxTokens)
        switch dialect {
        case .openAI:
            return try Upstream.openAI(endpoint == .embeddings ? "/embeddings" : "/chat/completions", attempt, settings: settings, sealer: sealer, body: bytes)
        case .anthropic:
            return try Upstream.anthropic("/messages", attempt, sealer: sealer, body: bytes, version: request.headers[Self.anthropicVersionHeader])
        }
    }

    /// The body for `attempt`: the client's bytes with the model and stream flags set when
    /// the provider speaks the client's dialect (`sent`, nil when DLP changed the body or
    /// the scanner declined it), else the translated body encoded anew.
    private func upstreamBody(
        _ endpoint: ClientEndpoint, _ dialect: ProviderDialect, _ attempt: Attempt, body: [String: Any], sent: JSONMembers?, stream: Bool, maxTokens: Int
    ) throws(GatewayError) -> [UInt8] {
        if let sent, endpoint.dialect == (dialect == .anthropic ? .anthropic : .openAI) {
            var changes: [(key: String, value: [UInt8])] = [("model", JSONMembers.encodeString(attempt.upstreamModel))]
            if stream {
                changes.append(("stream", Array("true".utf8)))
                if dialect == .openAI { changes.append(("stream_options", Array(#"{"include_usage":true}"#.utf8))) }
            }
            return sent.setting(changes)
        }
        var upstream: [String: Any] = switch (endpoint, dialect) {
        case (.messages, .openAI): RequestTranslation.openAI(fromAnthropic: body)
        case (.chat, .anthropic): RequestTranslation.anthropic(fromOpenAI: body, maxTokens: maxTokens)
        case (.embeddings, .anthropic):
            throw GatewayError(status: .badRequest, type: "invalid_request_error", code: "dialect_mismatch",
                               message: "model \(attempt.model) is served by Anthropic, which has no embeddings; route it to another deployment")
        default: body
        }
        upstream["model"] = attempt.upstreamModel
        if stream {
            upstream["stream"] = true
            if dialect == .openAI { upstream["stream_options"] = ["include_usage": true] }
        }
        return JSONBytes.encode(upstream) ?? Array(JSONField.encode(upstream) ?? Data())
    }

    /// A provider's error: passed on as it is in the same dialect, else told in the
    /// client's with the provider's message. A provider's server error, or a status that
    /// is no client error, reaches the client as 502 (the gateway's upstream failed; the
    /// provider's own status is in `x-weir-upstream-status`): a 500 from the node means a
    /// fault of the node's own.
    private func upstreamError(status: Int, text: String, attempt: Attempt, endpoint: ClientEndpoint) -> Response {
        let clientStatus = (400..<500).contains(status) ? status : 502
        if ProviderDialect(attempt.provider) == (endpoint.dialect == .anthropic ? .anthropic : .openAI),
           (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] {
            return Response(
                status: HTTPResponse.Status(code: clientStatus),
                headers: [.contentType: "application/json", Self.modelHeader: attempt.model, Self.upstreamStatusHeader: String(status)],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? text.prefix(500).description
        var error = GatewayError(status: HTTPResponse.Status(code: clientStatus), type: status == 429 ? "rate_limit_error" : (clientStatus >= 500 ? "api_error" : "invalid_request_error"),
                                 code: "upstream_error", message: "\(attempt.provider.rawValue) refused \(attempt.model): \(message)")
        if status == 429 { error.retryAfter = 1 }
        return error.response(endpoint.dialect)
    }

    static func translator(from upstream: ProviderDialect, to client: GatewayError.Dialect, model: String, clientWantsUsage: Bool, inputEstimate: Int) -> any StreamTranslator {
        switch (upstream, client) {
        case (.openAI, .openAI): OpenAIPassthrough(clientWantsUsage: clientWantsUsage)
        case (.anthropic, .anthropic): AnthropicPassthrough()
        case (.openAI, .anthropic): OpenAIToAnthropicStream(model: model, inputEstimate: inputEstimate)
        case (.anthropic, .openAI): AnthropicToOpenAIStream(model: model, clientWantsUsage: clientWantsUsage)
        }
    }

    /// Relays a streamed answer event by event, translated, and settles once at its end:
    /// with the provider's usage, else an estimate from what was streamed (also when the
    /// client goes away or the upstream breaks off).
    private func relay(
        _ response: HTTPClientResponse, headers: HTTPFields, translator: any StreamTranslator, settlement: Settlement, slot: UpstreamSlots.Slot
    ) -> Response {
        // A client that leaves before the head is written never runs the body below; the
        // guard ends the reservation when the body is dropped.
        let fallback = AbandonedReservation(settlement)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                slot.release()
                withExtendedLifetime(fallback) {}
            }
            var translator = translator
            var splitter = SSESplitter()
            func settle(broken: Bool) {
                let input = translator.inputTokens ?? settlement.promptEstimate
                let output = translator.outputTokens ?? max(1, translator.contentCharacters / 4)
                settlement.settle(input: input, output: output, error: broken ? "stream_broken" : nil)
            }
            do {
                for try await chunk in response.body {
                    var out: [UInt8] = []
                    for event in splitter.feed(chunk) { out += translator.translate(event) }
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                }
                var out: [UInt8] = []
                for event in splitter.finish() { out += translator.translate(event) }
                out += translator.finish()
                if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                settle(broken: false)
                try await writer.finish(nil)
            } catch {
                settle(broken: true)
                throw error
            }
        })
    }

    /// With `x-weir-cost-mode: normal|heavy|max`, the model the calling agent's profile
    /// (or its role's) names for that mode; otherwise the requested model.
    func costModeModel(_ request: Request, requested: String, caller: Caller, state: PolicyState) throws(GatewayError) -> String {
        guard let value = request.headers[Self.costModeHeader] else { return requested }
        guard let mode = CostMode(rawValue: value.lowercased()) else {
            throw GatewayError.invalid("x-weir-cost-mode: '\(value.prefix(40))' is not one of normal, heavy, max", param: "x-weir-cost-mode")
        }
        return state.profileModel(for: caller.token.principal, mode: mode) ?? requested
    }

    static var costModeHeader: HTTPField.Name { HTTPField.Name("x-weir-cost-mode")! }
    static var modelHeader: HTTPField.Name { HTTPField.Name("x-weir-model")! }
    static var unpricedHeader: HTTPField.Name { HTTPField.Name("x-weir-unpriced")! }
    static var anthropicVersionHeader: HTTPField.Name { HTTPField.Name("anthropic-version")! }
    static var cacheHeader: HTTPField.Name { HTTPField.Name("x-weir-cache")! }
    static var upstreamStatusHeader: HTTPField.Name { HTTPField.Name("x-weir-upstream-status")! }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}

/// Ends one attempt's reservation, once: the usage, the deployment's statistics and the
/// usage event.
struct Settlement: Sendable {
    let quota: any QuotaGate
    let stats: DeploymentStats
    let reservation: ReservationID
    let price: Price?
    let promptEstimate: Int
    let deployment: String
    let latency: Int64
    let usage: UsageContext
    let attempt: Attempt
    let attempts: Int
    let unpriced: Bool
    /// The status recorded for a request whose client left before it was answered (nginx's 499).
    static let clientClosedStatus = 499

    func settle(input: Int, output: Int, status: Int = 200, error: String? = nil) {
        let actual = Metering.usage(price, input: input, output: output)
        guard quota.settle(reservation, actual: actual) else { return }
        stats.finished(deployment, latencyMicroseconds: latency)
        usage.record(attempt, attempts: attempts, status: status, error: error, input: input, output: output, microUSD: actual.microUSD,
                     unpriced: unpriced, latency: latency)
    }
}

/// Ends a reservation that nothing settled by the time the last reference goes: the
/// fallback for a streamed answer whose body never ran. Settling is once-only, so after a
/// normal settlement this does nothing.
final class AbandonedReservation: Sendable {
    let settlement: Settlement

    init(_ settlement: Settlement) { self.settlement = settlement }

    deinit {
        guard settlement.quota.cancel(settlement.reservation) else { return }
        settlement.stats.finished(settlement.deployment, latencyMicroseconds: nil)
        settlement.usage.record(settlement.attempt, attempts: settlement.attempts, status: Settlement.clientClosedStatus, error: "client_disconnected",
                                latency: settlement.latency)
    }
}

/// What every usage event of one request shares, and how it is recorded.
struct UsageContext: Sendable {
    /// Bytes of an error message kept in an event.
    static let messageBytesMax = 1_000
    /// Bytes of a `User-Agent` kept in an event.
    static let userAgentBytesMax = 256

    let sink: any UsageSink
    let metrics: DataPlaneMetrics
    let time: Int64
    let endpoint: String
    let caller: Caller
    let requestedModel: String
    let stream: Bool
    let userAgent: String?
    let requestBytes: Int
    var redactions = 0
    var dlp: DLPOutcome?

    func record(
        _ attempt: Attempt?, attempts: Int, status: Int, error: String?, input: Int = 0, output: Int = 0, microUSD: Int64 = 0,
        unpriced: Bool = false, latency: Int64 = 0, cachedModel: String? = nil, message: String? = nil
    ) {
        let event = UsageEvent(
            time: time, endpoint: endpoint, token: caller.token.id, principal: caller.token.principal, user: caller.user?.id,
            app: caller.app?.id, organization: caller.organization, requestedModel: requestedModel,
            model: cachedModel ?? (status < 300 || status == 502 ? attempt?.model : nil), provider: attempt?.provider.rawValue,
            credential: attempt?.credential?.id, deployment: attempt?.deployment?.id, inputTokens: input, outputTokens: output,
            microUSD: microUSD, unpriced: unpriced, status: status, errorCode: error, stream: stream, latencyMicroseconds: latency,
            attempts: attempts, redactions: redactions, cached: cachedModel != nil, dlp: dlp,
            errorMessage: message.map { $0.prefix(bytes: Self.messageBytesMax) }, userAgent: userAgent.map { $0.prefix(bytes: Self.userAgentBytesMax) },
            requestBytes: requestBytes)
        metrics.observe(event)
        sink.record(event)
    }

    /// Records a refusal before any attempt, and returns the error to throw.
    func failed(_ error: GatewayError) -> GatewayError {
        record(nil, attempts: 0, status: Int(error.status.code), error: error.code, message: error.message)
        return error
    }
}
