import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Policy

/// Stage forward: the provider's answer head for the attempt, counted in the deployment's
/// statistics while it is open. A failure among the attempt's fallback triggers (a
/// timeout, a refused connection, a 429 or 5xx) moves on to the next attempt; any other
/// failure ends the request: a transport error as 502 or 504, a provider's error status
/// passed on in the client's dialect.
struct Forward: AttemptStage {
    static let upstreamStatusHeader = HTTPField.Name("x-weir-upstream-status")!

    let client: HTTPClient
    let stats: DeploymentStats
    let logger: Logger
    let limits: DataPlaneLimits

    func run(_ attempt: inout AttemptExchange, _ exchange: Exchange) async -> AttemptStep {
        guard let upstream = attempt.upstream else { return .next(.internalFault("forward ran before translate")) }
        let key = attempt.deploymentKey
        stats.started(key)
        attempt.hold(InFlight(stats: stats, deployment: key))
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, timeout: .init(limits.upstreamTimeout))
        } catch {
            return failed(Upstream.trigger(error: error), attempt)
        }
        attempt.latency = Self.microseconds(ContinuousClock.now - started)
        attempt.response = response
        let status = Int(response.status.code)
        guard !(200..<300).contains(status) else { return .proceed }
        let text = (try? await response.body.collect(upTo: limits.upstreamSmallBodyBytesMax)).map { String(buffer: $0) } ?? ""
        if let trigger = Upstream.trigger(status: status), !attempt.isLast, attempt.attempt.triggers.contains(trigger) {
            logger.info("upstream failed; trying the next attempt", metadata: ["model": "\(attempt.attempt.model)", "status": "\(status)"])
            return .next(GatewayError(status: .badGateway, type: "api_error", code: "upstream_error",
                                      message: "\(attempt.attempt.provider.rawValue) answered \(status) for \(attempt.attempt.model)"))
        }
        exchange.usage.record(attempt.attempt, attempts: attempt.attempts, status: status, error: "upstream_error", latency: attempt.latency ?? 0,
                              message: text.prefix(bytes: UsageContext.messageBytesMax))
        return .answer(Self.upstreamError(status: status, text: text, attempt: attempt.attempt, endpoint: exchange.endpoint))
    }

    /// A transport failure: the next attempt when it is among the triggers, else the end.
    private func failed(_ trigger: FallbackTrigger, _ attempt: AttemptExchange) -> AttemptStep {
        let error = GatewayError(
            status: trigger == .timeout ? .gatewayTimeout : .badGateway, type: "api_error", code: "upstream_\(trigger.rawValue)",
            message: "\(attempt.attempt.provider.rawValue) did not answer for \(attempt.attempt.model) (\(trigger.rawValue)); retry later")
        return !attempt.isLast && attempt.attempt.triggers.contains(trigger) ? .next(error) : .fail(error)
    }

    /// The deployment's in-flight count, ended with the attempt's latency (nil when no
    /// answer head came), unless a streamed body ends it when the stream ends.
    struct InFlight: Release {
        let stats: DeploymentStats
        let deployment: String

        func end(_ attempt: AttemptExchange) {
            if !attempt.streaming { stats.finished(deployment, latencyMicroseconds: attempt.latency) }
        }
    }

    /// A provider's error: passed on as it is in the same dialect, else told in the
    /// client's with the provider's message. A provider's server error, or a status that
    /// is no client error, reaches the client as 502 (the gateway's upstream failed; the
    /// provider's own status is in `x-weir-upstream-status`): a 500 from the node means a
    /// fault of the node's own.
    static func upstreamError(status: Int, text: String, attempt: Attempt, endpoint: ClientEndpoint) -> Response {
        let clientStatus = (400..<500).contains(status) ? status : 502
        if ProviderDialect(attempt.provider).clientDialect == endpoint.dialect,
           (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] {
            return Response(
                status: HTTPResponse.Status(code: clientStatus),
                headers: [.contentType: "application/json", Answer.modelHeader: attempt.model, upstreamStatusHeader: String(status)],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        let message = ((object?["error"] as? [String: Any])?["message"] as? String) ?? text.prefix(500).description
        var error = GatewayError(
            status: HTTPResponse.Status(code: clientStatus), type: status == 429 ? "rate_limit_error" : (clientStatus >= 500 ? "api_error" : "invalid_request_error"),
            code: "upstream_error", message: "\(attempt.provider.rawValue) refused \(attempt.model): \(message)")
        if status == 429 { error.retryAfter = 1 }
        return error.response(endpoint.dialect)
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}
