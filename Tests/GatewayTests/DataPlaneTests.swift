import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import MetricsTestKit
import MockLLM
import NIOCore
import NIOHTTP1
import Policy
import QuotaCRDT
import Testing
@testable import Gateway

/// `/v1/chat/completions` and `/v1/models` through the pipeline against a running
/// mockllm: auth, routing with aliases and fallbacks, pricing, quotas, streaming relay,
/// and settlement exactly once.
@Suite(.serialized) struct DataPlaneTests {
    static let chat = #"{"model":"smart","messages":[{"role":"user","content":"hello there"}]}"#

    private func standard(_ h: DataPlaneHarness, _ mock: RunningMock) async throws { try await h.serveStandardModels(at: mock) }

    @Test func aCompletionIsRoutedPricedAndSettled() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect((answer.object["usage"] as? [String: Any])?["completion_tokens"] as? Int == 8)
                let received = try #require(mock.mock.recorded.last)
                #expect(received.model == "upstream-4o" && received.apiKey == "sk-upstream", "the alias, the deployment's upstream name and the opened secret")
                // 11 tokens at $0.0025 per 1k and 8 at $0.01 per 1k: 107.5 µ$, rounded up.
                #expect(h.gate.settledUsages == [Usage(requests: 1, tokens: 19, microUSD: 108)], "\(h.gate.settledUsages)")
                let event = try #require(h.usage.recorded.last)
                #expect(event.requestedModel == "smart" && event.model == "gpt-4o" && event.deployment == "gpt4o" && event.credential == "key:mock:main")
                #expect(event.token == "tok_caller" && event.user == "user:ann" && event.organization == "org:acme" && event.endpoint == "chat.completions")
                #expect(event.inputTokens == 11 && event.outputTokens == 8 && event.microUSD == 108 && event.status == 200 && event.attempts == 1)
            }
            let headers = try await h.run { api async throws in
                try await api.client.execute(uri: "/v1/chat/completions", method: .post, headers: [.authorization: "Bearer \(DataPlaneHarness.callerSecret)"], body: ByteBuffer(string: Self.chat)).headers
            }
            #expect(headers[HTTPField.Name("x-weir-model")!] == "gpt-4o")
        }
    }

    @Test func errorsComeInTheOpenAIShape() async throws {
        let h = try await DataPlaneHarness()
        let readerSecret = try await h.admin.addToken("tok_reader", scopes: ["admin.read"])
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let anonymous = try await api.call(.post, "/v1/chat/completions", token: nil, body: Self.chat)
                #expect(anonymous.status == .unauthorized)
                let error = try #require(anonymous.object["error"] as? [String: Any])
                #expect(error["type"] as? String == "authentication_error" && error["code"] as? String == "invalid_api_key")
                let unknown = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: #"{"model":"nope","messages":[]}"#)
                #expect(unknown.status == .notFound && (unknown.object["error"] as? [String: Any])?["code"] as? String == "model_not_found")
                let broken = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: "{nope")
                #expect(broken.status == .badRequest)
                // A read-only admin token may not invoke models.
                let reader = try await api.call(.post, "/v1/chat/completions", token: readerSecret, body: Self.chat)
                #expect(reader.status == .forbidden && (reader.object["error"] as? [String: Any])?["type"] as? String == "permission_error")
            }
        }
    }

    @Test func aStreamIsRelayedAndSettledWithTheProvidersUsage() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with({ $0.chunkTokens = 3 }) { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let body = #"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                #expect(answer.status == .ok)
                let events = answer.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
                #expect(events.last == "data: [DONE]")
                #expect(!answer.text.contains("\"usage\""), "the usage chunk the gateway asked for is not shown to a client that did not")
                let sent = try #require(mock.mock.recorded.last?.body)
                #expect(sent.contains("include_usage"), "the gateway asked the provider for usage")
                // 11 tokens at $0.00015 per 1k and 8 at $0.0006 per 1k: 6.45 µ$, rounded up.
                #expect(h.gate.settledUsages == [Usage(requests: 1, tokens: 19, microUSD: 7)], "\(h.gate.settledUsages)")
                #expect(h.usage.recorded.last?.stream == true && h.usage.recorded.last?.outputTokens == 8, "a stream's event is recorded after its last byte")

                let withUsage = #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#
                let shown = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: withUsage)
                #expect(shown.text.contains("\"usage\""), "a client that asked sees the usage chunk")
            }
        }
    }

    @Test func injectedFailuresFallBackAlongTheChain() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([.putFallback(FallbackChain(id: "gpt-4o", chain: ["gpt-4o-mini"], triggers: [.providerError], created: .pending, updated: .pending))])
            mock.mock.inject(Fault(kind: .status, status: 500, count: 1, model: "upstream-4o"))
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect(answer.object["model"] as? String == "gpt-4o-mini", "the fallback answered")
                #expect(h.gate.cancelCount == 1 && h.gate.settledUsages.count == 1, "the failed attempt released its reservation")
                let event = try #require(h.usage.recorded.last)
                #expect(event.model == "gpt-4o-mini" && event.requestedModel == "smart" && event.attempts == 2, "the usage event names the model that answered")

                // A 429 is not among this chain's triggers: it reaches the caller.
                mock.mock.inject(Fault(kind: .status, status: 429, count: 1, model: "upstream-4o"))
                let limited = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(limited.status == .tooManyRequests)
            }
        }
    }

    @Test func aQuotaRefusesWith429NamingIt() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([.upsertQuota(QuotaRevision(
                id: 0, lane: .user, subject: "user:ann", name: "burst", period: .tenSeconds, maxMicroUSD: nil, maxTokens: nil,
                maxRequests: 2, rollover: false, revoked: false, stamp: .pending))])
            try await h.run { api async throws in
                for _ in 0..<2 { #expect(try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat).status == .ok) }
                let refused = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: Self.chat)
                #expect(refused.status == .tooManyRequests)
                let error = try #require(refused.object["error"] as? [String: Any])
                #expect(error["code"] as? String == "quota_exceeded")
                #expect((error["message"] as? String)?.contains("'burst' on user user:ann allows 2 requests per 10s") == true, "\(refused.text)")
                #expect(h.usage.recorded.last?.status == 429 && h.usage.recorded.last?.errorCode == "quota_exceeded" && h.usage.recorded.last?.model == nil)
                #expect(try h.metrics.expectCounter("weir_requests_total", [("model", "gpt-4o"), ("provider", "openai-compatible"), ("status", "200")]).totalValue == 2)
                #expect(try h.metrics.expectCounter("weir_quota_refusals_total", [("endpoint", "chat.completions")]).totalValue == 1)
                #expect(try h.metrics.expectCounter("weir_tokens_total", [("model", "gpt-4o"), ("direction", "output")]).totalValue == 16)
                #expect(try h.metrics.expectCounter("weir_cost_micro_usd_total", [("model", "gpt-4o")]).totalValue == 216)
                #expect(try h.metrics.expectTimer("weir_upstream_latency_seconds", [("model", "gpt-4o"), ("provider", "openai-compatible")]).values.count == 2)
            }
            #expect(mock.mock.served == 2, "the refused request never left the gateway")
        }
    }

    @Test func anUnpricedModelIsRefusedOrFlaggedNeverFree() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([h.deployment("free", model: "unpriced", credential: "key:mock:main")])
            let body = #"{"model":"unpriced","messages":[{"role":"user","content":"hi"}]}"#
            try await h.run { api async throws in
                let refused = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                #expect(refused.status == .badRequest && (refused.object["error"] as? [String: Any])?["code"] as? String == "model_not_priced")
            }
            var settings = h.policy.current.settings
            settings.unpricedModels = .allowAndFlag
            try await h.apply([.putSettings(settings)])
            let flagged = try await h.run { api async throws in
                try await api.client.execute(uri: "/v1/chat/completions", method: .post, headers: [.authorization: "Bearer \(DataPlaneHarness.callerSecret)"], body: ByteBuffer(string: body))
            }
            #expect(flagged.status == .ok && flagged.headers[HTTPField.Name("x-weir-unpriced")!] == "true")
        }
    }

    @Test func embeddingsAreForwardedAndPricedOnInputOnly() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.run { api async throws in
                let answer = try await api.call(
                    .post, "/v1/embeddings", token: DataPlaneHarness.callerSecret, body: #"{"model":"gpt-4o-mini","input":["a","b"]}"#)
                #expect(answer.status == .ok, "\(answer.text)")
                #expect((answer.object["data"] as? [[String: Any]])?.count == 2)
                #expect(mock.mock.recorded.last?.path == "/v1/embeddings")
                // 11 prompt tokens at $0.00015 per 1k: 1.65 µ$, rounded up; no output.
                #expect(h.gate.settledUsages == [Usage(requests: 1, tokens: 11, microUSD: 2)], "\(h.gate.settledUsages)")
            }
        }
    }

    @Test func theCostModeHeaderPicksTheAgentsProfileModel() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([
                .putProfile(ModelProfile(id: "role:coder", role: nil, name: nil, models: [.normal: "gpt-4o-mini", .heavy: "gpt-4o"], created: .pending, updated: .pending)),
                .putProfile(ModelProfile(id: "agent:bot", role: "role:coder", name: nil, models: [.normal: "smart"], created: .pending, updated: .pending)),
            ])
            try await h.run { api async throws in
                func model(_ mode: String) async throws -> String? {
                    let response = try await api.client.execute(
                        uri: "/v1/chat/completions", method: .post,
                        headers: [.authorization: "Bearer \(DataPlaneHarness.callerSecret)", HTTPField.Name("x-weir-cost-mode")!: mode],
                        body: ByteBuffer(string: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#))
                    return response.status == .ok ? response.headers[HTTPField.Name("x-weir-model")!] : "status \(response.status.code)"
                }
                #expect(try await model("heavy") == "gpt-4o", "the role's heavy model")
                #expect(try await model("normal") == "gpt-4o", "the agent's own normal model, through the alias smart")
                #expect(try await model("max") == "gpt-4o-mini", "no profile model for max: the requested one")
                #expect(try await model("cheap") == "status 400")
            }
        }
    }

    @Test func ollamaNamesReachTheOllamaServerFreeOfCharge() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            var settings = h.policy.current.settings
            settings.ollamaEnabled = true
            settings.ollamaBaseURL = "http://127.0.0.1:\(mock.port)"
            try await h.apply([.putSettings(settings)])
            try await h.run { api async throws in
                let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret,
                                                body: #"{"model":"ollama/gemma3","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(answer.status == .ok, "\(answer.text)")
                let received = try #require(mock.mock.recorded.last)
                #expect(received.path == "/v1/chat/completions" && received.model == "gemma3", "Ollama's OpenAI-compatible endpoint, the bare model name")
                #expect(h.gate.settledUsages == [Usage(requests: 1, tokens: 19, microUSD: 0)], "unpriced Ollama is free, not refused")
            }
        }
    }

    @Test func azureDeploymentsAreAddressedByDeploymentWithAnAPIKeyHeader() throws {
        let sealer = CredentialSealer(key: AdminHarness.sealingKey)
        let credential = Credential(
            id: "key:azure:eu", provider: .azureOpenAI, baseURL: "https://eu.openai.azure.com/", sealedSecret: try sealer.seal("az-secret", for: "key:azure:eu"),
            extraHeaders: ["api-version": "2025-01-01"], created: .pending, updated: .pending)
        let attempt = Attempt(model: "gpt-4o", deployment: nil, credential: credential, provider: .azureOpenAI, upstreamModel: "prod-4o", triggers: [])
        let request = try Upstream.openAI("/chat/completions", attempt, settings: GatewaySettings(), sealer: sealer, body: [])
        #expect(request.url == "https://eu.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2025-01-01")
        #expect(request.headers["api-key"] == ["az-secret"] && request.headers["Authorization"].isEmpty)
        #expect(request.headers["api-version"].isEmpty, "the version goes in the query, not a header")
    }

    @Test func aTokensModelListBoundsWhatItMayAskFor() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            let secret = "weir_limited-caller"
            try await h.apply([.issueToken(ClientToken(
                id: "tok_limited", secretHash: TokenSecret.hash(secret), displayPrefix: "weir_limi…", name: nil, principal: "agent:bot",
                namespace: "tenant:default", user: "user:ann", app: nil, scopes: ["model.invoke"], models: ["gpt-4o-mini"], expiresAt: nil,
                revoked: false, created: .pending, updated: .pending))])
            try await h.run { api async throws in
                let refused = try await api.call(.post, "/v1/chat/completions", token: secret, body: Self.chat)
                #expect(refused.status == .forbidden && (refused.object["error"] as? [String: Any])?["code"] as? String == "model_not_allowed", "\(refused.text)")
                let allowed = try await api.call(.post, "/v1/chat/completions", token: secret,
                                                 body: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(allowed.status == .ok)
                let models = try await api.call(.get, "/v1/models", token: secret)
                #expect((models.object["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["gpt-4o-mini"])
            }
            #expect(mock.mock.served == 1, "the refused request never left the gateway")
        }
    }

    @Test func modelsListWhatTheCallerMayUse() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await standard(h, mock)
            try await h.apply([
                .putOrganization(Organization(id: "org:other", name: "Other", slug: "other", owner: nil, dlp: nil, created: .pending, updated: .pending)),
                .putAlias(Alias(
                    id: Alias.id(requested: "house", organization: "org:other"), requestedModel: "house", routedTo: "gpt-4o", organization: "org:other",
                    created: .pending, updated: .pending)),
            ])
            try await h.run { api async throws in
                let models = try await api.call(.get, "/v1/models", token: DataPlaneHarness.callerSecret)
                let ids = (models.object["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["gpt-4o", "gpt-4o-mini", "smart"], "\(models.text)")
            }
        }
    }
}
