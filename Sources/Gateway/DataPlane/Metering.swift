import Foundation
import HTTPTypes
import Policy
import QuotaCRDT

/// Prices and quota specs for an attempt (DESIGN.md section 3, stages admit and settle).
enum Metering {
    /// The output tokens reserved when a request names no maximum and its deployment none.
    static let outputTokensDefault = 4_096

    /// What an attempt costs per 1k tokens, and whether it had no price and was let through
    /// (`flagged`). Ollama is free unless priced. An unpriced model is refused unless the
    /// settings allow and flag it: never a silent $0.
    static func price(_ attempt: Attempt, state: PolicyState) -> Result<(price: Price?, flagged: Bool), GatewayError> {
        if let price = state.price(credential: attempt.credential?.id, provider: attempt.provider.rawValue, model: attempt.upstreamModel)
            ?? (attempt.upstreamModel == attempt.model ? nil : state.price(credential: nil, provider: nil, model: attempt.model)) {
            return .success((price, false))
        }
        if attempt.provider == .ollama { return .success((nil, false)) }
        switch state.settings.unpricedModels {
        case .allowAndFlag: return .success((nil, true))
        case .deny:
            return .failure(GatewayError(
                status: .badRequest, type: "invalid_request_error", code: "model_not_priced",
                message: "model \(attempt.model) (\(attempt.provider.rawValue):\(attempt.upstreamModel)) has no price; "
                    + "an admin can add a pricing revision (POST /admin/api/pricing) or set unpriced_models to allow-and-flag"))
        }
    }

    /// The most tokens one request is charged in each direction. Inputs arrive already
    /// bounded (`RequestNumbers`, `ReportedTokens`); this clamp keeps the arithmetic below
    /// safe even so.
    static let tokensMax = 1 << 40

    /// The cost in micro-USD of `input` and `output` tokens, rounded up (never undercharged).
    /// Computed in 128 bits (a price may be up to `PolicyState.capMax` nano-USD per 1k) and
    /// pinned at `PolicyState.capMax`, which refuses the request against any cap.
    static func microUSD(_ price: Price?, input: Int, output: Int) -> Int64 {
        guard let price else { return 0 }
        let nano = Int128(clamped(input)) * Int128(max(0, price.inputNanoUSDPer1k))
            + Int128(clamped(output)) * Int128(max(0, price.outputNanoUSDPer1k))
        return Int64(min((nano + 999_999) / 1_000_000, Int128(PolicyState.capMax)))
    }

    /// The usage of one request with these token counts.
    static func usage(_ price: Price?, input: Int, output: Int) -> Usage {
        Usage(requests: 1, tokens: Int64(clamped(input) + clamped(output)), microUSD: microUSD(price, input: input, output: output))
    }

    private static func clamped(_ tokens: Int) -> Int { min(max(0, tokens), tokensMax) }

    /// The active quotas on `subjects` as the admission sees them.
    static func quotas(for subjects: [(lane: QuotaLane, subject: String)], state: PolicyState) -> [QuotaSpec] {
        state.activeQuotas(for: subjects).compactMap { revision in
            guard !revision.revoked, let period = revision.period.flatMap({ Period(rawValue: $0.rawValue) }),
                  let lane = Lane(rawValue: revision.lane.rawValue) else { return nil }
            return QuotaSpec(
                id: QuotaID(lane: lane, subject: revision.subject, name: revision.name), period: period,
                // Caps are validated on write; a negative one from a snapshot caps at 0.
                caps: Caps(requests: revision.maxRequests.map { max(0, $0) }, tokens: revision.maxTokens.map { max(0, $0) },
                           microUSD: revision.maxMicroUSD.map { max(0, $0) }))
        }
    }

    /// The refusal as the caller sees it: 429, `Retry-After`, the quota named.
    static func refusal(_ refusal: QuotaRefusal, now: Int64) -> GatewayError {
        let wait = refusal.resetsAt.map { max(1, Int($0.saturatingSubtract(now).saturatingAdd(999) / 1000)) }
        let cap: String = switch refusal.unit {
        case "requests": "\(refusal.caps.requests ?? 0) requests"
        case "tokens": "\(refusal.caps.tokens ?? 0) tokens"
        default: String(format: "$%.6f", Double(refusal.caps.microUSD ?? 0) / 1e6)
        }
        let when = wait.map { "it resets in \($0) s" } ?? "it never resets (an infinite window); an admin can raise it"
        return GatewayError(
            status: .tooManyRequests, type: "rate_limit_error", code: "quota_exceeded",
            message: "quota '\(refusal.quota.name)' on \(refusal.quota.lane.rawValue) \(refusal.quota.subject) allows \(cap) per \(refusal.period.rawValue); \(when)",
            retryAfter: wait, rateLimits: RateLimitHeaders(limits: refusal.rateLimits, now: now))
    }
}
