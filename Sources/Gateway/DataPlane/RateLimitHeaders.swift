import Foundation
import HTTPTypes
import QuotaCRDT

/// The rate-limit headers of a data-plane answer, from the tightest quota the request met
/// in requests and in tokens (docs/quotas.md, "Rate-limit headers"). OpenAI's dialect:
/// `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, the reset as a Go duration
/// (`8.123s`, `6m0s`); Anthropic's: `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`,
/// the reset as an RFC 3339 time. A unit no quota caps, and the reset of a window that
/// never resets, are left out.
struct RateLimitHeaders: Sendable {
    let limits: RateLimits
    /// When they were read, in ms since the epoch (the node's clock).
    let now: Int64

    func add(to headers: inout HTTPFields, _ dialect: GatewayError.Dialect) {
        let names = dialect == .openAI ? Self.openAI : Self.anthropic
        add(limits.requests, names.requests, to: &headers, dialect)
        add(limits.tokens, names.tokens, to: &headers, dialect)
    }

    private func add(_ limit: RateLimit?, _ name: Names, to headers: inout HTTPFields, _ dialect: GatewayError.Dialect) {
        guard let limit else { return }
        headers[name.limit] = String(limit.limit)
        headers[name.remaining] = String(limit.remaining)
        guard let resetsAt = limit.resetsAt else { return }
        headers[name.reset] = dialect == .openAI ? Self.duration(milliseconds: resetsAt.saturatingSubtract(now)) : Self.timestamp(milliseconds: resetsAt)
    }

    private struct Names: Sendable {
        let limit, remaining, reset: HTTPField.Name
        /// Only the literals below come here, each a valid header token (lower-case letters
        /// and dashes), which `RateLimitHeaderTests` reads back: the unwraps cannot fail.
        init(_ limit: String, _ remaining: String, _ reset: String) {
            (self.limit, self.remaining, self.reset) = (HTTPField.Name(limit)!, HTTPField.Name(remaining)!, HTTPField.Name(reset)!)
        }
    }

    private static let openAI = (
        requests: Names("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
        tokens: Names("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"))
    private static let anthropic = (
        requests: Names("anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset"),
        tokens: Names("anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset"))

    /// `milliseconds` as Go's `time.Duration` prints it, which OpenAI's headers use:
    /// `0s`, `120ms`, `8.5s`, `6m0s`, `720h0m0s`; never negative.
    static func duration(milliseconds: Int64) -> String {
        let total = max(0, milliseconds)
        if total == 0 { return "0s" }
        if total < 1000 { return "\(total)ms" }
        let hours = total / 3_600_000, minutes = total / 60_000 % 60, seconds = total / 1000 % 60, fraction = total % 1000
        var text = hours > 0 ? "\(hours)h\(minutes)m" : (minutes > 0 ? "\(minutes)m" : "")
        text += "\(seconds)"
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 3 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += ".\(digits)"
        }
        return text + "s"
    }

    /// `milliseconds` since the epoch as an RFC 3339 UTC time with milliseconds.
    static func timestamp(milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
