import HTTPTypes
import Policy

/// What every usage event of one request shares, and how it is recorded.
struct UsageContext: Sendable {
    /// Bytes of an error message kept in an event.
    static let messageBytesMax = 1_000
    /// Bytes of a `User-Agent` kept in an event.
    static let userAgentBytesMax = 256

    let sink: any UsageSink
    let metrics: DataPlaneMetrics
    let time: Int64
    var endpoint: String
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
