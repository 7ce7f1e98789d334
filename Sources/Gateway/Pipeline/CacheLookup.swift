import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Policy
import QuotaCRDT

/// Stage cache: a request whose answer may come from the response cache (caching on, a
/// deterministic whole request, neither the token nor `Cache-Control` opting out) gets
/// its key; a hit answers at once. A hit costs nothing and calls no provider, but counts
/// against the caller's request caps (a 429 when they are spent).
struct CacheLookup: RequestStage {
    static let header = HTTPField.Name("x-weir-cache")!

    let cache: ResponseCache
    let quota: any QuotaGate
    let clock: @Sendable () -> Int64

    func run(_ exchange: inout Exchange) async throws(GatewayError) -> Response? {
        exchange.cacheKey = Self.key(exchange)
        guard let key = exchange.cacheKey, let hit = cache.get(key, now: clock()) else { return nil }
        return try await answer(hit, exchange)
    }

    static func key(_ exchange: Exchange) -> String? {
        let control = exchange.request.headers[.cacheControl]?.lowercased() ?? ""
        guard exchange.state.settings.cacheTTLSeconds > 0, !exchange.stream, exchange.caller.token.cacheOptOut != true,
              !control.contains("no-cache"), !control.contains("no-store"), ResponseCache.isDeterministic(exchange.endpoint, exchange.body)
        else { return nil }
        return ResponseCache.key(exchange.endpoint, namespace: exchange.caller.token.namespace, model: exchange.resolved, body: exchange.body)
    }

    private func answer(_ hit: ResponseCache.Entry, _ exchange: Exchange) async throws(GatewayError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", Answer.modelHeader: hit.model, Self.header: "hit"]
        switch await quota.reserve(Usage(requests: 1), against: Metering.quotas(for: exchange.caller.subjects, state: exchange.state)) {
        case let .success(reservation):
            RateLimitHeaders(limits: quota.rateLimits(of: reservation), now: clock()).add(to: &headers, exchange.endpoint.dialect)
            quota.settle(reservation, actual: Usage(requests: 1))
        case let .failure(refusal):
            throw Metering.refusal(refusal, now: clock())
        }
        exchange.usage.record(nil, attempts: 0, status: 200, error: nil, cachedModel: hit.model)
        var bytes = ByteBuffer(bytes: hit.bytes)
        if !exchange.restorer.originals.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(hit.bytes)),
           let restored = JSONField.encode(DLPStage.restore(object, exchange.restorer), sorted: true) {
            bytes = ByteBuffer(bytes: Array(restored))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }
}
