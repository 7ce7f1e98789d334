import AsyncHTTPClient
import Logging
import Policy

/// What the data plane's stages share: the policy, the quota gate, the usage sink, the
/// upstream client and its per-host slots, the router with its statistics, the DLP
/// redactor, the response cache, and the limits. Built once per node.
struct DataPlaneServices: Sendable {
    let reader: any PolicyReader
    let quota: any QuotaGate
    let usageSink: any UsageSink
    let sealer: CredentialSealer
    let client: HTTPClient
    let clock: @Sendable () -> Int64
    let logger: Logger
    let metrics: DataPlaneMetrics
    /// Provider calls open per host, bounded (`UpstreamLimits`).
    let upstreamSlots: UpstreamSlots
    let limits: DataPlaneLimits
    let router = ModelRouter()
    let redactor = Redactor()
    let cache = ResponseCache()
}

/// The data plane's size and time limits (their values and documentation are
/// `DataPlaneRoutes`' public constants).
struct DataPlaneLimits: Sendable {
    let requestBytesMax: Int
    let responseBytesMax: Int
    let upstreamTimeout: Duration
    let upstreamSmallBodyBytesMax: Int
}
