import Foundation
import Gateway
import Node

/// Usage events as the data plane records them, in the stored form (and one in the JSON
/// form of earlier versions).
enum UsageEventSeeds {
    static var sampleEvents: [UsageEvent] {
        let served = UsageEvent(
            time: 1_772_409_600_000, endpoint: "chat.completions", token: "tok_ada", principal: "human:ada", user: "user:ada", app: nil,
            organization: "org:acme", requestedModel: "fast", model: "gpt-4o", provider: "openai", credential: "key:openai:prod",
            deployment: "dep:gpt", inputTokens: 120, outputTokens: 480, microUSD: 5_100, unpriced: false, status: 200, errorCode: nil,
            stream: true, latencyMicroseconds: 812_000, attempts: 1, redactions: 2, cached: false,
            dlp: DLPOutcome(action: .redact, policy: "dlp:strict", scope: "org:acme", matches: ["EMAIL": 1, "CREDIT_CARD": 1]),
            userAgent: "openai-python/1.40", requestBytes: 2_048)
        let blocked = UsageEvent(
            time: 1_772_409_601_000, endpoint: "messages", token: "tok_ci", principal: "service:ci", user: nil, app: "app:ci",
            organization: nil, requestedModel: "claude-sonnet", model: nil, provider: nil, credential: nil, deployment: nil, inputTokens: 0,
            outputTokens: 0, microUSD: 0, unpriced: true, status: 400, errorCode: "dlp_blocked", stream: false, latencyMicroseconds: 90,
            attempts: 0, redactions: 0, dlp: DLPOutcome(action: .block, policy: "dlp:strict", scope: "app:ci", matches: ["SSN": 3]),
            errorMessage: "the request holds values the DLP policy blocks")
        var cached = served
        cached.cached = true
        cached.dlp = DLPOutcome(action: .bypass, policy: "dlp:strict", scope: "org:acme", reason: "incident 42")
        cached.requestBytes = nil
        return [served, blocked, cached]
    }

    static var events: [[UInt8]] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let legacy = (try? encoder.encode(sampleEvents[1])).map(Array.init) ?? []
        return sampleEvents.map(UsageEventFuzzing.encode) + [legacy]
    }
}
