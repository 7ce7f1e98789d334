import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOHTTP1
import Hummingbird
import NIOCore
import Policy
import QuotaCRDT

/// The OpenAI-dialect endpoints the gateway forwards.
enum OpenAIEndpoint: Sendable {
    case chat, embeddings

    /// The path under the provider's API base.
    var path: String { self == .chat ? "/chat/completions" : "/embeddings" }
}

extension DataPlaneRoutes {
    /// `POST /v1/chat/completions` and `POST /v1/embeddings`: each attempt is priced,
    /// admitted against every quota that applies, forwarded, and settled exactly once with
    /// the usage the provider reports; a failure among the chain's triggers moves on to
    /// the next attempt.
    func openAIEndpoint(_ request: Request, _ endpoint: OpenAIEndpoint) async throws(GatewayError) -> Response {
        let state = reader.current
        let caller = try caller(request, state: state, now: clock())
        var body = try await jsonBody(request)
        guard let requested = body["model"] as? String, !requested.isEmpty else { throw GatewayError.invalid("model is required", param: "model") }
        let stream = endpoint == .chat && (body["stream"] as? Bool ?? false)
        let clientWantsUsage = ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
        let model = try costModeModel(request, requested: requested, caller: caller, state: state)
        let attempts = router.plan(requested: model, organization: caller.organization, state: state)
        guard !attempts.isEmpty else {
            throw GatewayError(status: .notFound, type: "invalid_request_error", code: "model_not_found",
                               message: "model \(requested) is not served here; GET /v1/models lists the models you may use", param: "model")
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
            // Stage admit: all-or-nothing over the caller's lanes and the credential's.
            let outputEstimate = endpoint == .chat ? TokenEstimate.output(body, deployment: attempt.deployment) : 0
            let estimate = Metering.usage(quote.price, input: promptEstimate, output: outputEstimate)
            let subjects = caller.subjects + (attempt.credential.map { [(lane: QuotaLane.key, subject: $0.id)] } ?? [])
            let reservation: ReservationID
            switch await quota.reserve(estimate, against: Metering.quotas(for: subjects, state: state)) {
            case let .success(id): reservation = id
            case let .failure(refusal): throw Metering.refusal(refusal, now: clock())
            }
            // Stage forward.
            body["model"] = attempt.upstreamModel
            if stream { body["stream_options"] = ["include_usage": true] }
            let bytes = Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data())
            let upstream: HTTPClientRequest
            do {
                upstream = try Upstream.openAI(endpoint.path, attempt, settings: state.settings, sealer: sealer, body: bytes)
            } catch {
                quota.cancel(reservation)
                failure = error
                continue
            }
            let deploymentID = attempt.deployment?.id ?? attempt.model
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
                throw failure!
            }
            let latency = Self.microseconds(ContinuousClock.now - started)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let text = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
                router.stats.finished(deploymentID, latencyMicroseconds: latency)
                quota.cancel(reservation)
                if let trigger = Upstream.trigger(status: status), !isLast, attempt.triggers.contains(trigger) {
                    logger.info("upstream failed; trying the next model", metadata: ["model": "\(attempt.model)", "status": "\(status)"])
                    continue
                }
                // The provider's own error, in its (OpenAI) shape, with the model named.
                return Response(
                    status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json", Self.modelHeader: attempt.model],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            var headers: HTTPFields = [Self.modelHeader: attempt.model]
            if quote.flagged { headers[Self.unpricedHeader] = "true" }
            if stream {
                headers[.contentType] = "text/event-stream"
                headers[.cacheControl] = "no-cache"
                return relay(response, headers: headers, reservation: reservation, price: quote.price, promptEstimate: promptEstimate,
                             clientWantsUsage: clientWantsUsage, deployment: deploymentID, latency: latency)
            }
            let answer: ByteBuffer
            do {
                answer = try await response.body.collect(upTo: Self.responseBytesMax)
            } catch {
                router.stats.finished(deploymentID, latencyMicroseconds: latency)
                quota.settle(reservation, actual: estimate)
                throw GatewayError(status: .badGateway, type: "api_error", code: "upstream_broken",
                                   message: "the answer of \(attempt.provider.rawValue) for \(attempt.model) broke off or exceeded \(Self.responseBytesMax) bytes; retry")
            }
            router.stats.finished(deploymentID, latencyMicroseconds: latency)
            // Stage settle: the provider's usage (or the estimate when it reports none).
            let usage = (try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView)) as? [String: Any])?["usage"] as? [String: Any]
            let input = (usage?["prompt_tokens"] as? NSNumber)?.intValue ?? promptEstimate
            let output = (usage?["completion_tokens"] as? NSNumber)?.intValue ?? 0
            quota.settle(reservation, actual: Metering.usage(quote.price, input: input, output: output))
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: answer))
        }
        throw failure ?? GatewayError(status: .badGateway, type: "api_error", code: "no_attempt", message: "no deployment could serve \(requested)")
    }

    /// Relays a streamed answer chunk by chunk and settles once at its end: with the
    /// provider's usage, else an estimate from what was streamed (also when the client
    /// goes away or the upstream breaks off).
    private func relay(
        _ response: HTTPClientResponse, headers: HTTPFields, reservation: ReservationID, price: Price?, promptEstimate: Int,
        clientWantsUsage: Bool, deployment: String, latency: Int64
    ) -> Response {
        let quota = self.quota
        let stats = router.stats
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var scanner = SSEUsageScanner(clientWantsUsage: clientWantsUsage)
            func settle() {
                stats.finished(deployment, latencyMicroseconds: latency)
                let input = scanner.promptTokens ?? promptEstimate
                let output = scanner.completionTokens ?? max(1, scanner.contentCharacters / 4)
                quota.settle(reservation, actual: Metering.usage(price, input: input, output: output))
            }
            do {
                for try await chunk in response.body {
                    let out = scanner.feed(chunk)
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                }
                let rest = scanner.finish()
                if !rest.isEmpty { try await writer.write(ByteBuffer(bytes: rest)) }
                settle()
                try await writer.finish(nil)
            } catch {
                settle()
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

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}
