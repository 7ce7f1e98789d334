import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Policy
import QuotaCRDT

/// Stage answer (whole answers): the provider's answer read (within `responseBytesMax`),
/// settled with the usage it reports (the estimate's input when it reports none),
/// translated to the client's dialect, cached when the request may be, and relayed with
/// DLP placeholders restored. An answer relayed as it is (same dialect, nothing to
/// restore) has only its usage member decoded. A broken or malformed answer is a 502,
/// settled at the estimate.
struct Answer: AttemptStage {
    static let modelHeader = HTTPField.Name("x-weir-model")!
    static let unpricedHeader = HTTPField.Name("x-weir-unpriced")!

    let quota: any QuotaGate
    let cache: ResponseCache
    let clock: @Sendable () -> Int64
    let limits: DataPlaneLimits

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        guard let response = attempt.response, let reservation = attempt.reservation else {
            return .next(.internalFault("answer ran before admit and forward"))
        }
        var headers = Self.headers(attempt, exchange, quota: quota, now: clock())
        let settlement = Settlement(
            quota: quota, reservation: reservation, price: attempt.price, promptEstimate: exchange.promptEstimate,
            deployment: attempt.deploymentKey, latency: attempt.latency ?? 0, usage: exchange.usage, attempt: attempt.attempt,
            attempts: attempt.attempts, unpriced: attempt.unpriced)
        let provider = "\(attempt.attempt.provider.rawValue)", model = attempt.attempt.model
        let answer: ByteBuffer
        do {
            answer = try await response.body.collect(upTo: limits.responseBytesMax)
        } catch {
            settlement.settle(input: exchange.promptEstimate, output: attempt.outputEstimate, status: 502, error: "upstream_broken")
            attempt.settled = true
            return .answer(GatewayError(status: .badGateway, type: "api_error", code: "upstream_broken",
                                        message: "the answer of \(provider) for \(model) broke off or exceeded \(limits.responseBytesMax) bytes; retry")
                .response(exchange.endpoint.dialect))
        }
        let relayedAsIs = ProviderDialect(attempt.attempt.provider).clientDialect == exchange.endpoint.dialect && exchange.redaction.isEmpty
        let scanned = relayedAsIs ? AnswerUsage.scan(answer) : nil
        guard let object = scanned != nil ? [:] : (try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView))) as? [String: Any] else {
            settlement.settle(input: exchange.promptEstimate, output: attempt.outputEstimate, status: 502, error: "upstream_malformed")
            attempt.settled = true
            return .answer(GatewayError(status: .badGateway, type: "api_error", code: "upstream_malformed",
                                        message: "\(provider) answered \(response.status.code) for \(model) with a body that is not a JSON object; retry")
                .response(exchange.endpoint.dialect))
        }
        let usage = scanned.map(\.usage) ?? object["usage"] as? [String: Any]
        let input = ReportedTokens.read(usage, "prompt_tokens", "input_tokens") ?? exchange.promptEstimate
        let output = ReportedTokens.read(usage, "completion_tokens", "output_tokens") ?? (usage == nil ? 0 : attempt.outputEstimate)
        settlement.settle(input: input, output: output)
        attempt.settled = true
        headers[.contentType] = "application/json"
        let bytes = body(answer, object: object, attempt.attempt, exchange, headers: &headers)
        return .answer(Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes)))
    }

    /// The client's bytes: translated to its dialect when the provider speaks another,
    /// cached when the request may be, with DLP placeholders restored.
    private func body(_ answer: ByteBuffer, object: [String: Any], _ attempt: Attempt, _ exchange: Exchange, headers: inout HTTPFields) -> ByteBuffer {
        var translated: [String: Any]? = switch (ProviderDialect(attempt.provider), exchange.endpoint.dialect) {
        case (.openAI, .anthropic): ResponseTranslation.anthropic(fromOpenAI: object, model: attempt.model)
        case (.anthropic, .openAI): ResponseTranslation.openAI(fromAnthropic: object, model: attempt.model)
        default: nil
        }
        let clientBytes = translated.map { ByteBuffer(bytes: Array(JSONField.encode($0, sorted: true) ?? Data())) } ?? answer
        if let key = exchange.cacheKey {
            let ttl = Int64(min(max(0, exchange.state.settings.cacheTTLSeconds), GatewaySettings.cacheTTLSecondsMax)) * 1000
            cache.put(key, .init(bytes: Array(clientBytes.readableBytesView), model: attempt.model, expiresAt: clock() + ttl))
            headers[CacheLookup.header] = "miss"
        }
        // Placeholders are plain ASCII, never escaped in JSON: an answer without one is relayed as it is.
        guard !exchange.redaction.isEmpty && exchange.restorer.appears(in: clientBytes.readableBytesView) else { return clientBytes }
        translated = DLPStage.restore(translated ?? object, exchange.restorer) as? [String: Any]
        return ByteBuffer(bytes: Array(JSONField.encode(translated ?? object, sorted: true) ?? Data()))
    }

    /// The headers of an answer: the model that served, whether it was unpriced, and the
    /// tightest quota's rate-limit headers.
    static func headers(_ attempt: AttemptExchange, _ exchange: Exchange, quota: any QuotaGate, now: Int64) -> HTTPFields {
        var headers: HTTPFields = [modelHeader: attempt.attempt.model]
        if attempt.unpriced { headers[unpricedHeader] = "true" }
        if let reservation = attempt.reservation {
            RateLimitHeaders(limits: quota.rateLimits(of: reservation), now: now).add(to: &headers, exchange.endpoint.dialect)
        }
        return headers
    }
}
