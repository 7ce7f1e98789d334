import CoreMetrics

/// Prometheus series of the data plane, from each request's usage event: requests by
/// model, provider and status; tokens and cost by model; latency histograms; quota
/// refusals; DLP redactions. Labels take only admin-controlled values (the answering
/// model, not the one asked for; `other` for pass-through models), so a client cannot
/// grow the series.
struct DataPlaneMetrics: Sendable {
    let factory: any MetricsFactory

    func observe(_ event: UsageEvent) {
        let model = Self.label(model: event), provider = event.provider ?? "none"
        Counter(label: "weir_requests_total", dimensions: [("model", model), ("provider", provider), ("status", String(event.status))], factory: factory)
            .increment()
        if event.inputTokens > 0 {
            Counter(label: "weir_tokens_total", dimensions: [("model", model), ("direction", "input")], factory: factory).increment(by: Int64(event.inputTokens))
        }
        if event.outputTokens > 0 {
            Counter(label: "weir_tokens_total", dimensions: [("model", model), ("direction", "output")], factory: factory).increment(by: Int64(event.outputTokens))
        }
        // In floating point: a cost may be up to 9.2e15 µ$ (PolicyState.capMax), and an
        // integer counter of a few thousand such answers once wrapped negative.
        if event.microUSD > 0 {
            FloatingPointCounter(label: "weir_cost_micro_usd_total", dimensions: [("model", model)], factory: factory).increment(by: Double(event.microUSD))
        }
        if event.status < 300 {
            Timer(label: "weir_upstream_latency_seconds", dimensions: [("model", model), ("provider", provider)], factory: factory)
                .recordMicroseconds(event.latencyMicroseconds)
        }
        if event.errorCode == "quota_exceeded" { Counter(label: "weir_quota_refusals_total", dimensions: [("endpoint", event.endpoint)], factory: factory).increment() }
        if event.unpriced { Counter(label: "weir_unpriced_requests_total", dimensions: [("model", model)], factory: factory).increment() }
        if event.cached { Counter(label: "weir_cache_hits_total", dimensions: [("model", model)], factory: factory).increment() }
        if event.redactions > 0 { Counter(label: "weir_dlp_redactions_total", factory: factory).increment(by: Int64(event.redactions)) }
    }

    /// The model label: a model the admins configured, or `other` for a pass-through
    /// (`ollama/…`) name, which the client chose.
    static func label(model event: UsageEvent) -> String {
        guard let model = event.model else { return "none" }
        return event.deployment == nil && model.hasPrefix("ollama/") ? "other" : model
    }
}
