import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import QuotaCRDT

/// Stage relay (streamed requests): the provider's events relayed one by one, translated
/// to the client's dialect and with DLP placeholders restored when needed, as they come.
/// The stream takes over the attempt's slot, reservation and in-flight count and ends them
/// when it ends: settled once with the provider's usage, else an estimate from what was
/// streamed (also when the client goes away or the upstream breaks off); cancelled when
/// the client left before the body ran.
struct RelayStream: AttemptStage {
    let quota: any QuotaGate
    let stats: DeploymentStats
    let clock: @Sendable () -> Int64

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        guard exchange.stream else { return .proceed }
        guard let response = attempt.response, let reservation = attempt.reservation, let slot = attempt.slot else {
            return .next(.internalFault("relay ran before take-slot, admit and forward"))
        }
        var headers = Answer.headers(attempt, exchange, quota: quota, now: clock())
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        var translator = Self.translator(from: ProviderDialect(attempt.attempt.provider), to: exchange.endpoint.dialect, model: attempt.attempt.model,
                                         clientWantsUsage: exchange.clientWantsUsage, inputEstimate: exchange.promptEstimate)
        if !exchange.redaction.isEmpty {
            translator = RestoringTranslator(inner: translator, restorer: exchange.restorer, dialect: exchange.endpoint.dialect)
        }
        let settlement = Settlement(
            quota: quota, reservation: reservation, price: attempt.price, promptEstimate: exchange.promptEstimate,
            deployment: attempt.deploymentKey, latency: attempt.latency ?? 0, usage: exchange.usage, attempt: attempt.attempt,
            attempts: attempt.attempts, unpriced: attempt.unpriced)
        attempt.streaming = true
        let ends = StreamEnds(slot: slot, stats: stats, settlement: settlement)
        return .answer(Self.relay(response, headers: headers, translator: translator, ends: ends))
    }

    static func translator(from upstream: ProviderDialect, to client: GatewayError.Dialect, model: String, clientWantsUsage: Bool, inputEstimate: Int) -> any StreamTranslator {
        switch (upstream, client) {
        case (.openAI, .openAI): OpenAIPassthrough(clientWantsUsage: clientWantsUsage)
        case (.anthropic, .anthropic): AnthropicPassthrough()
        case (.openAI, .anthropic): OpenAIToAnthropicStream(model: model, inputEstimate: inputEstimate)
        case (.anthropic, .openAI): AnthropicToOpenAIStream(model: model, clientWantsUsage: clientWantsUsage)
        }
    }

    /// The streamed body. A client that leaves before the head is written never runs it;
    /// `AbandonedReservation` then ends the reservation when the body is dropped.
    private static func relay(_ response: HTTPClientResponse, headers: HTTPFields, translator: any StreamTranslator, ends: StreamEnds) -> Response {
        let fallback = AbandonedReservation(ends.settlement, stats: ends.stats)
        let settlement = ends.settlement
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                ends.slot.release()
                ends.stats.finished(settlement.deployment, latencyMicroseconds: settlement.latency)
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

    /// What the stream took over from the attempt.
    private struct StreamEnds: Sendable {
        let slot: UpstreamSlots.Slot
        let stats: DeploymentStats
        let settlement: Settlement
    }
}
