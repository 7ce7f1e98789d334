import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Policy

/// Stage translate: the provider's request for the attempt, in its dialect, with the
/// upstream model name, and the output tokens to reserve. The client's bytes go with
/// surgical edits (model, stream flags) when the provider speaks the client's dialect and
/// DLP changed nothing; else the translated body is encoded anew. A request the provider
/// cannot serve (embeddings from Anthropic) moves on to the next attempt.
struct Translate: AttemptStage {
    static let anthropicVersionHeader = HTTPField.Name("anthropic-version")!

    let sealer: CredentialSealer

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        attempt.outputEstimate = exchange.endpoint == .embeddings ? 0 : TokenEstimate.output(exchange.numbers, deployment: attempt.attempt.deployment)
        do {
            attempt.upstream = try request(attempt.attempt, exchange, maxTokens: attempt.outputEstimate)
            return .proceed
        } catch {
            return .next(error)
        }
    }

    private func request(_ attempt: Attempt, _ exchange: Exchange, maxTokens: Int) throws(GatewayError) -> HTTPClientRequest {
        let dialect = ProviderDialect(attempt.provider)
        let bytes = try Self.body(exchange, dialect, attempt, maxTokens: maxTokens)
        switch dialect {
        case .openAI:
            let path = exchange.endpoint == .embeddings ? "/embeddings" : "/chat/completions"
            return try Upstream.openAI(path, attempt, settings: exchange.state.settings, sealer: sealer, body: bytes)
        case .anthropic:
            return try Upstream.anthropic("/messages", attempt, sealer: sealer, body: bytes, version: exchange.request.headers[Self.anthropicVersionHeader])
        }
    }

    /// The body for `attempt`: `exchange.sent` with the model and stream flags set when the
    /// provider speaks the client's dialect, else the translated body encoded anew.
    static func body(_ exchange: Exchange, _ dialect: ProviderDialect, _ attempt: Attempt, maxTokens: Int) throws(GatewayError) -> [UInt8] {
        if let sent = exchange.sent, exchange.endpoint.dialect == dialect.clientDialect {
            var changes: [(key: String, value: [UInt8])] = [("model", JSONMembers.encodeString(attempt.upstreamModel))]
            if exchange.stream {
                changes.append(("stream", Array("true".utf8)))
                if dialect == .openAI { changes.append(("stream_options", Array(#"{"include_usage":true}"#.utf8))) }
            }
            return sent.setting(changes)
        }
        var upstream: [String: Any] = switch (exchange.endpoint, dialect) {
        case (.messages, .openAI): RequestTranslation.openAI(fromAnthropic: exchange.body)
        case (.chat, .anthropic): RequestTranslation.anthropic(fromOpenAI: exchange.body, maxTokens: maxTokens)
        case (.embeddings, .anthropic):
            throw GatewayError(status: .badRequest, type: "invalid_request_error", code: "dialect_mismatch",
                               message: "model \(attempt.model) is served by Anthropic, which has no embeddings; route it to another deployment")
        default: exchange.body
        }
        upstream["model"] = attempt.upstreamModel
        if exchange.stream {
            upstream["stream"] = true
            if dialect == .openAI { upstream["stream_options"] = ["include_usage": true] }
        }
        return JSONBytes.encode(upstream) ?? Array(JSONField.encode(upstream) ?? Data())
    }
}
