import Foundation
import HTTPTypes
import MockLLM
import Policy
import Testing
@testable import Gateway

/// DLP against texts built to hurt it: many distinct values, a backtracking pattern, and
/// sensitive data in every field that leaves the node.
@Suite(.serialized) struct DLPHostileTests {
    static func policy(patterns: [DLPPolicy.Pattern] = [], detectors: [DLPPolicy.Detector] = [.email]) -> DLPPolicy {
        DLPPolicy(id: "dlp:x", name: nil, enabled: true, action: .redact, detectors: detectors, patterns: patterns, created: .pending, updated: .pending)
    }

    @Test func manyDistinctValuesAreAllReplacedAndTheMapStaysBounded() {
        let redactor = Redactor()
        let count = Redaction.valuesMax + 500
        let text = (0..<count).map { "u\($0)@acme.test" }.joined(separator: " ")
        var redaction = Redaction()
        let clean = redactor.redact(text, with: redactor.detectors(for: Self.policy()), into: &redaction)
        #expect(!clean.contains("@acme.test"), "every value is replaced")
        #expect(redaction.counts["EMAIL"] == count && redaction.originals.count == Redaction.valuesMax && redaction.overflowed)
        #expect(clean.contains("[EMAIL_10000]") && clean.contains("[EMAIL_REDACTED]") && !clean.contains("[EMAIL_10001]"))
        // Restoration is one pass: every numbered placeholder comes back, the overflow ones do not.
        let restored = PlaceholderRestorer(redaction).restore(clean)
        #expect(restored.contains("u0@acme.test") && restored.contains("u9999@acme.test") && restored.contains("[EMAIL_REDACTED]"))
        #expect(PlaceholderRestorer(redaction).appears(in: Array("x [EMAIL_77] y".utf8)))
        #expect(!PlaceholderRestorer(redaction).appears(in: Array("x [EMAIL_] [EMAIL_77 y".utf8)))
    }

    @Test func aBacktrackingPatternRunsOutOfItsBudgetInsteadOfPinningAThread() {
        let redactor = Redactor()
        let policy = Self.policy(patterns: [DLPPolicy.Pattern(name: "evil", regex: "(a+)+$")], detectors: [])
        var redaction = Redaction()
        let text = String(repeating: "a", count: 40) + "b"  // 2^40 paths for a backtracking engine
        let started = ContinuousClock.now
        _ = redactor.redact(text, with: redactor.detectors(for: policy), into: &redaction)
        #expect(redaction.timedOut == "EVIL", "the scan stops at its budget")
        // Not a speed assertion: without the budget this call does not return for hours.
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// One word of a megabyte full of anchors: every `@` once walked the whole word both
    /// ways (quadratic; this call did not return for hours).
    @Test func aLongWordFullOfAnchorsIsScannedInOnePass() {
        let redactor = Redactor()
        var redaction = Redaction()
        let text = String(repeating: "a@", count: 1 << 19) + " u1@acme.test"
        let started = ContinuousClock.now
        let clean = redactor.redact(text, with: redactor.detectors(for: Self.policy()), into: &redaction)
        #expect(redaction.timedOut == nil ? !clean.contains("u1@acme.test") : clean == text)
        // Not a speed assertion: a generous bound on a call that was once unbounded.
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// Many short regions with no match in any: ICU never calls back, so the budget was
    /// checked nowhere and a megabyte of them ran for seconds past it.
    @Test func theBudgetHoldsAcrossManyShortRegions() {
        let redactor = Redactor()
        var redaction = Redaction()
        redaction.deadline = .now - .seconds(1)  // spent before the scan starts
        let text = String(repeating: "x@ w w w w w w w ", count: 1_000)
        _ = redactor.redact(text, with: redactor.detectors(for: Self.policy()), into: &redaction)
        #expect(redaction.timedOut == "EMAIL", "a spent budget stops the scan between regions")
    }

    @Test func everyFieldThatLeavesTheNodeIsScanned() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.addCaller()
            try await h.addCredential("key:mock:main", baseURL: mock.baseURL)
            try await h.apply([
                .putDLP(Self.policy()),
                .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: "dlp:x", created: .pending, updated: .pending)),
                h.deployment("mini", model: "gpt-4o-mini", credential: "key:mock:main"),
                h.price(model: "gpt-4o-mini", inputPer1kNano: 150_000, outputPer1kNano: 600_000),
            ])
            let chat = #"""
            {"model":"gpt-4o-mini","user":"a1@acme.test","metadata":{"who":"a2@acme.test"},
             "messages":[{"role":"system","content":"a3@acme.test"},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"mail","arguments":"{\"to\":\"a4@acme.test\"}"}}]},
               {"role":"tool","tool_call_id":"c1","content":"sent to a5@acme.test"},{"role":"user","content":"ok"}]}
            """#
            let messages = #"""
            {"model":"gpt-4o-mini","max_tokens":50,"system":[{"type":"text","text":"b1@acme.test"}],"metadata":{"user_id":"b2@acme.test"},
             "messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"mail","input":{"to":"b3@acme.test","cc":["b4@acme.test"]}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"b5@acme.test"}]}]}
            """#
            try await h.run { api async throws in
                for (path, body) in [("/v1/chat/completions", chat), ("/v1/messages", messages)] {
                    let answer = try await api.call(.post, path, token: DataPlaneHarness.callerSecret, body: body)
                    #expect(answer.status == .ok, "\(path): \(answer.text.prefix(300))")
                }
            }
            #expect(mock.mock.recorded.count == 2)
            for request in mock.mock.recorded {
                #expect(!request.body.contains("@acme.test"), "the provider received \(request.body)")
                #expect(request.body.contains("gpt-4o-mini"), "the model is not scanned")
            }
        }
    }

    /// count_tokens once forwarded the raw body: no DLP, no model allow-list.
    @Test func countTokensIsScreenedLikeAMessage() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.addCaller()
            try await h.addCredential("key:mock:claude", baseURL: mock.baseURL, provider: .anthropic)
            try await h.apply([
                .putDLP(Self.policy()),
                .putOrganization(Organization(id: "org:acme", name: "Acme", slug: "acme", owner: nil, dlp: "dlp:x", created: .pending, updated: .pending)),
                h.deployment("claude", model: "claude-haiku-4-5", credential: "key:mock:claude"),
            ])
            let body = #"{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"c1@acme.test"}]}"#
            try await h.run { api async throws in
                let counted = try await api.call(.post, "/v1/messages/count_tokens", token: DataPlaneHarness.callerSecret, body: body)
                #expect(counted.status == .ok && counted.object["input_tokens"] != nil, "\(counted.text)")
                let huge = try await api.call(.post, "/v1/messages/count_tokens", token: DataPlaneHarness.callerSecret,
                                              body: #"{"model":"\#(String(repeating: "m", count: 300))","messages":[]}"#)
                #expect(huge.status == .badRequest && huge.object["type"] as? String == "error", "\(huge.text)")
            }
            #expect(mock.mock.recorded.count == 1)
            for request in mock.mock.recorded { #expect(!request.body.contains("@acme.test"), "the provider received \(request.body)") }
        }
        let restricted = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await restricted.addCaller()
            try await restricted.apply([.issueToken(ClientToken(
                id: "tok_narrow", secretHash: TokenSecret.hash("weir_narrow"), displayPrefix: "weir_narr…", name: nil, principal: "agent:bot",
                namespace: "tenant:default", user: "user:ann", app: nil, scopes: ["model.invoke"], models: ["gpt-4o-mini"], expiresAt: nil, revoked: false,
                created: .pending, updated: .pending))])
            try await restricted.run { api async throws in
                let refused = try await api.call(.post, "/v1/messages/count_tokens", token: "weir_narrow",
                                                 body: #"{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(refused.status == .forbidden, "\(refused.text)")
            }
            _ = mock
        }
    }
}
