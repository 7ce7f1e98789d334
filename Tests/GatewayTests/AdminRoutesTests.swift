import Foundation
import HTTPTypes
import Policy
import Testing
@testable import Gateway

/// The admin JSON API over an in-memory policy: authentication and scopes, records round
/// trip in snake_case, filters and cursors, one-time secrets, and bad input refused with
/// nothing applied.
@Suite struct AdminRoutesTests {
    @Test func callsWithoutAValidTokenAreRefusedAndScopesAreEnforced() async throws {
        let harness = try await AdminHarness()
        let reader = try await harness.addToken("tok_reader", scopes: ["admin.read"])
        let writer = try await harness.addToken("tok_writer", scopes: ["admin.write"])
        let invoker = try await harness.addToken("tok_invoker", scopes: ["model.invoke"])
        try await harness.run { api async throws in
            let none = try await api.get("/admin/api/users", token: nil)
            #expect(none.status == .unauthorized && none.errorType == "unauthorized")
            #expect(none.errorMessage.contains("Authorization: Bearer"), "the error says how to authenticate")
            #expect(try await api.get("/admin/api/users", token: "weir_not-a-token").status == .unauthorized)
            #expect(try await api.get("/admin/api/users", token: String(repeating: "x", count: 600)).status == .unauthorized)
            #expect(try await api.call(.get, "/admin/api/users", token: nil, headers: [.init("x-api-key")!: reader]).status == .ok)

            #expect(try await api.get("/admin/api/users", token: invoker).status == .forbidden, "model.invoke is no admin scope")
            #expect(try await api.get("/admin/api/users", token: reader).status == .ok)
            let readOnlyWrite = try await api.post("/admin/api/users", #"{"id":"user:ann"}"#, token: reader)
            #expect(readOnlyWrite.status == .forbidden && readOnlyWrite.errorMessage.contains("admin.write"))
            #expect(try await api.post("/admin/api/users", #"{"id":"user:ann"}"#, token: writer).status == .ok)

            // admin.write may not mint admin tokens, touch credentials or revoke a super-admin.
            let mint = try await api.post("/admin/api/tokens", #"{"principal":"human:admin","scopes":["admin.read"]}"#, token: writer)
            #expect(mint.status == .forbidden)
            #expect(try await api.post("/admin/api/credentials", #"{"id":"key:openai:main","provider":"openai"}"#, token: writer).status == .forbidden)
            #expect(try await api.post("/admin/api/tokens/tok_super/revoke", "{}", token: writer).status == .forbidden)
            #expect(try await api.post("/admin/api/tokens", #"{"principal":"human:admin"}"#, token: writer).status == .created)

            // A revoked token stops working at once.
            #expect(try await api.post("/admin/api/tokens/tok_reader/revoke", #"{"reason":"left the team"}"#).status == .ok)
            #expect(try await api.get("/admin/api/users", token: reader).status == .unauthorized)
        }
    }

    /// A misspelt filter used to be ignored, answering the whole list as if unfiltered.
    @Test func anUnknownQueryParameterIsRefusedNamingTheOnesTheEndpointTakes() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            _ = try await api.post("/admin/api/users", #"{"id":"user:ann"}"#)
            let misspelt = try await api.get("/admin/api/users?search=ann&limit=5")
            #expect(misspelt.status == .badRequest && misspelt.errorType == "invalid_request")
            #expect(misspelt.errorMessage.contains("'search'") && misspelt.errorMessage.contains("takes q,"), "\(misspelt.errorMessage)")
            let none = try await api.call(.post, "/admin/api/credentials/reseal?dry_run=true", token: AdminHarness.superSecret)
            #expect(none.status == .badRequest && none.errorMessage.contains("takes no query parameters"), "\(none.errorMessage)")
            #expect(try await api.get("/admin/api/users?q=ann&limit=5&consistent=true").status == .ok, "declared ones still pass")
            #expect(try await api.get("/admin/api/usage/errors?model=gpt-4o&token=tok_x").status != .badRequest, "the event filters every event view applies")
            let many = (0..<50).map { "p\($0)=1" }.joined(separator: "&")
            let flood = try await api.get("/admin/api/users?" + many)
            #expect(flood.status == .badRequest && flood.errorMessage.count < 600, "the message names a few, not all fifty")
        }
    }

    @Test func recordsRoundTripInSnakeCaseWithAuditStamps() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            let created = try await api.post("/admin/api/orgs", #"{"id":"org:acme","name":"Acme","slug":"acme"}"#)
            #expect(created.status == .ok, "\(created.text)")
            let user = try await api.call(
                .post, "/admin/api/users", body: #"{"id":"user:ann","display_name":"Ann Lee","email":"ann@acme.test","organization":"org:acme"}"#,
                headers: [.init("X-Weir-Reason")!: "onboarding"])
            #expect(user.status == .ok, "\(user.text)")
            let fetched = try await api.get("/admin/api/users/user:ann")
            #expect(fetched.object["display_name"] as? String == "Ann Lee")
            #expect(fetched.object["organization"] as? String == "org:acme")
            let stamp = try #require(fetched.object["created"] as? [String: Any])
            #expect(stamp["actor"] as? String == "human:admin")
            #expect(stamp["reason"] as? String == "onboarding")
            #expect(stamp["at"] as? Int64 == AdminHarness.now)

            let found = try await api.get("/admin/api/users?q=ACME.TEST")
            #expect(found.items.map { $0["id"] as? String } == ["user:ann"], "text match is case-insensitive and covers email")
            #expect(try await api.get("/admin/api/users?q=nobody").items.isEmpty)
            #expect(try await api.get("/admin/api/users/user:bob").status == .notFound)

            // An org that a user names cannot be deleted; the error names the user.
            let blocked = try await api.call(.delete, "/admin/api/orgs/org:acme")
            #expect(blocked.status == .conflict && blocked.errorMessage.contains("user:ann"), "\(blocked.text)")
            #expect(try await api.call(.delete, "/admin/api/users/user:ann").status == .ok)
            #expect(try await api.call(.delete, "/admin/api/orgs/org:acme").status == .ok)

            let history = try await api.get("/admin/api/history?subject=user:ann")
            #expect(history.items.count == 2, "the create and the delete are both in the audit trail: \(history.text)")
        }
    }

    @Test func aTokenSecretIsShownOnceAndOnlyItsHashIsKept() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            let issued = try await api.post("/admin/api/tokens", #"{"principal":"human:admin","name":"ci","scopes":["admin.read"],"expires_in_seconds":3600}"#)
            #expect(issued.status == .created, "\(issued.text)")
            let secret = try #require(issued.object["secret"] as? String)
            let token = try #require(issued.object["token"] as? [String: Any])
            let id = try #require(token["id"] as? String)
            #expect(secret.hasPrefix(TokenSecret.prefix) && secret.count == TokenSecret.prefix.count + 43)
            #expect(token["expires_at"] as? Int64 == AdminHarness.now + 3_600_000)
            #expect(token["models"] == nil, "no list: every model")
            let limited = try await api.post("/admin/api/tokens", #"{"principal":"human:admin","models":["gpt-4o-mini","smart"]}"#)
            #expect((limited.object["token"] as? [String: Any])?["models"] as? [String] == ["gpt-4o-mini", "smart"], "\(limited.text)")
            #expect(try await api.post("/admin/api/tokens", #"{"principal":"human:admin","models":[]}"#).errorField == "models")
            #expect(try await api.get("/admin/api/users", token: secret).status == .ok, "the revealed secret authenticates")

            let list = try await api.get("/admin/api/tokens")
            let one = try await api.get("/admin/api/tokens/\(id)")
            let history = try await api.get("/admin/api/history")
            for answer in [list, one, history] { #expect(!answer.text.contains(secret), "no later answer shows the secret") }
            #expect(harness.policy.current.tokens[id]?.secretHash == TokenSecret.hash(secret))
            #expect(try await api.get("/admin/api/tokens?status=revoked").items.isEmpty)
        }
    }

    @Test func credentialSecretsAreSealedAndNeverAnswered() async throws {
        let harness = try await AdminHarness()
        let secret = "sk-live-credential-secret-0123456789"
        try await harness.run { api async throws in
            let created = try await api.post(
                "/admin/api/credentials", #"{"id":"key:openai:main","provider":"openai","secret":"\#(secret)","extra_headers":{"OpenAI-Organization":"org-1"}}"#)
            #expect(created.status == .ok, "\(created.text)")
            #expect(created.object["has_secret"] as? Bool == true)
            let answers = [created, try await api.get("/admin/api/credentials"), try await api.get("/admin/api/credentials/key:openai:main"), try await api.get("/admin/api/history")]
            for answer in answers { #expect(!answer.text.contains(secret)) }
            let stored = try #require(harness.policy.current.credentials["key:openai:main"])
            let sealed = try #require(stored.sealedSecret)
            #expect(!String(decoding: sealed, as: UTF8.self).contains(secret))
            let opened = try CredentialSealer(key: AdminHarness.sealingKey).open(sealed, for: stored.id)
            #expect(opened == secret, "the sealed secret opens with the key and the credential id")
            #expect(throws: (any Error).self) { try CredentialSealer(key: AdminHarness.sealingKey).open(sealed, for: "key:openai:other") }
        }
    }

    @Test func quotaRevisionsAppendAndFilter() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            #expect(try await api.post("/admin/api/users", #"{"id":"user:ann"}"#).status == .ok)
            #expect(try await api.post("/admin/api/apps", #"{"id":"app:bot"}"#).status == .ok)
            let first = #"{"lane":"user","subject":"user:ann","name":"daily","period":"day","max_usd":5}"#
            let second = #"{"lane":"user","subject":"user:ann","name":"daily","period":"day","max_usd":7.5,"max_requests":100}"#
            #expect(try await api.post("/admin/api/quotas", first).status == .created)
            #expect(try await api.post("/admin/api/quotas", second).status == .created)
            #expect(try await api.post("/admin/api/quotas", #"{"lane":"app","subject":"app:bot","name":"burst","period":"10s","max_requests":300}"#).status == .created)
            let revoke = try await api.post("/admin/api/quotas/revoke", #"{"lane":"user","subject":"user:ann","name":"daily","reason":"moved to team cap"}"#)
            #expect(revoke.status == .created || revoke.status == .ok, "\(revoke.text)")

            let all = try await api.get("/admin/api/quotas?lane=user&subject=user:ann&status=all")
            #expect(all.items.count == 3, "two upserts and a revocation, none edited: \(all.text)")
            #expect(Set(all.items.compactMap { $0["status"] as? String }) == ["superseded", "revoked"])
            #expect(all.items.contains { $0["max_usd"] as? Double == 5 }, "the first revision keeps its cap")
            #expect(try await api.get("/admin/api/quotas?lane=user&status=active").items.isEmpty)
            #expect(try await api.get("/admin/api/quotas?status=active").items.map { $0["subject"] as? String } == ["app:bot"])
            #expect(try await api.get("/admin/api/quotas?name=urs").items.count == 1, "name filter is contains")

            let badLane = try await api.get("/admin/api/quotas?lane=team")
            #expect(badLane.status == .badRequest && badLane.errorField == "lane", "\(badLane.text)")
            let badPeriod = try await api.post("/admin/api/quotas", #"{"lane":"user","subject":"user:ann","name":"x","period":"fortnight","max_usd":1}"#)
            #expect(badPeriod.errorField == "period", "\(badPeriod.text)")
            let negative = try await api.post("/admin/api/quotas", #"{"lane":"user","subject":"user:ann","name":"x","period":"day","max_usd":-1}"#)
            #expect(negative.status == .unprocessableContent && negative.errorField == "max_usd", "\(negative.text)")
        }
    }

    @Test func pricingPerThousandSetsInputAndOutput() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            #expect(try await api.post("/admin/api/pricing", #"{"scope":"model","subject":"gpt-4o","per_1k":0.002,"note":"list price"}"#).status == .created)
            let listed = try await api.get("/admin/api/pricing?scope=model")
            let revision = try #require(listed.items.first)
            #expect(revision["input_per_1k"] as? Double == 0.002 && revision["output_per_1k"] as? Double == 0.002, "\(listed.text)")
            #expect(try await api.get("/admin/api/pricing?scope=key").items.isEmpty)
            let negative = try await api.post("/admin/api/pricing", #"{"scope":"model","subject":"gpt-4o","input_per_1k":-0.1}"#)
            #expect(negative.status.code >= 400 && negative.status.code < 500 && negative.errorField == "input_per_1k", "\(negative.text)")
        }
    }

    @Test func cursorsPageThroughEveryRecordOnce() async throws {
        let harness = try await AdminHarness()
        for n in 0..<120 {
            let user = Policy.User(id: "user:u\(n)", displayName: nil, email: nil, status: .active, role: .member, organization: nil, created: .pending, updated: .pending)
            _ = try await harness.policy.submit(.init(actor: "test", command: .putUser(user)))
        }
        try await harness.run { api async throws in
            var seen: [String] = [], cursor: String?, pages = 0
            repeat {
                let page = try await api.get("/admin/api/users?limit=50" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok)
                seen += page.items.compactMap { $0["id"] as? String }
                cursor = page.object["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3 && seen.count == 120 && Set(seen).count == 120)

            let badCursor = try await api.get("/admin/api/users?cursor=%%%")
            #expect(badCursor.status == .badRequest && badCursor.errorField == "cursor", "\(badCursor.text)")
            let tooMany = try await api.get("/admin/api/users?limit=100000")
            #expect(tooMany.status == .badRequest && tooMany.errorField == "limit", "\(tooMany.text)")
        }
    }

    @Test func badBodiesAreRefusedByFieldAndNothingIsApplied() async throws {
        let harness = try await AdminHarness()
        let before = harness.policy.current.history.count
        try await harness.run { api async throws in
            let cases: [(body: String, status: HTTPResponse.Status, field: String?)] = [
                ("{not json", .badRequest, nil),
                ("[]", .badRequest, nil),
                ("", .badRequest, nil),
                (#"{"id":"user:ann","nickname":"A"}"#, .badRequest, "nickname"),
                (#"{"id":42}"#, .badRequest, "id"),
                (#"{"display_name":"no id"}"#, .badRequest, "id"),
                (#"{"id":"ann"}"#, .unprocessableContent, "id"),
                (#"{"id":"user:ann","organization":"org:none"}"#, .unprocessableContent, "organization"),
                (#"{"id":"user:e\#u{301}a"}"#, .unprocessableContent, "id"),  // not in normal form C
                (String(repeating: "[", count: 40) + String(repeating: "]", count: 40), .badRequest, nil),
                (#"{"id":"user:ann","display_name":""# + String(repeating: "a", count: 300_000) + #""}"#, .contentTooLarge, nil),
            ]
            for c in cases {
                let answer = try await api.post("/admin/api/users", c.body)
                #expect(answer.status == c.status, "\(c.body.prefix(60)) → \(answer.status): \(answer.text.prefix(300))")
                #expect(answer.errorField == c.field, "\(c.body.prefix(60)) names \(String(describing: answer.errorField))")
                #expect(!answer.errorMessage.isEmpty)
            }
            let nested = try await api.post("/admin/api/dlp", #"{"id":"dlp:strict","patterns":[{"name":"x","regex":"a","colour":"red"}]}"#)
            #expect(nested.status == .badRequest && nested.errorField == "patterns.colour", "\(nested.text)")
        }
        #expect(harness.policy.current.history.count == before, "no refused body changed anything")
        #expect(harness.policy.current.users.count == 0)
    }

    @Test func theConsolesFiltersSelectWhatTheirTablesShow() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            for body in [
                #"{"id":"org:acme","name":"Acme","slug":"acme"}"#,
            ] { #expect(try await api.post("/admin/api/orgs", body).status == .ok) }
            for body in [
                #"{"id":"user:ann","organization":"org:acme","role":"admin"}"#, #"{"id":"user:bob","organization":"org:acme","status":"suspended"}"#,
                #"{"id":"user:cy"}"#,
            ] { #expect(try await api.post("/admin/api/users", body).status == .ok) }
            func ids(_ answer: Answer) -> [String] { answer.items.compactMap { $0["id"] as? String } }
            #expect(ids(try await api.get("/admin/api/users?organization=org:acme")) == ["user:ann", "user:bob"])
            #expect(ids(try await api.get("/admin/api/users?status=suspended")) == ["user:bob"])
            #expect(ids(try await api.get("/admin/api/users?role=admin&organization=org:acme")) == ["user:ann"])
            #expect(try await api.get("/admin/api/users?role=emperor").errorField == "role")

            #expect(try await api.post("/admin/api/apps", #"{"id":"app:on","active":true}"#).status == .ok)
            #expect(try await api.post("/admin/api/apps", #"{"id":"app:off","active":false}"#).status == .ok)
            #expect(ids(try await api.get("/admin/api/apps?active=false")) == ["app:off"])
            #expect(ids(try await api.get("/admin/api/apps?active=true")) == ["app:on"])
            #expect(try await api.get("/admin/api/apps?active=maybe").errorField == "active")

            // Groups may come as one CSV item; a kind that contradicts the id is refused.
            let principal = try await api.post("/admin/api/principals", #"{"id":"service:etl","groups":["app-dev,finance"]}"#)
            #expect(principal.object["groups"] as? [String] == ["app-dev", "finance"], "\(principal.text)")
            #expect(principal.object["kind"] as? String == "service")
            #expect(try await api.post("/admin/api/principals", #"{"id":"service:etl","kind":"agent"}"#).errorField == "kind")

            // Expired is its own token status.
            let expiring = try await api.post("/admin/api/tokens", #"{"principal":"service:etl","expires_at":\#(AdminHarness.now - 1)}"#)
            let expiredID = try #require((expiring.object["token"] as? [String: Any])?["id"] as? String)
            #expect(ids(try await api.get("/admin/api/tokens?status=expired")) == [expiredID])
            #expect(try await api.get("/admin/api/tokens?status=revoked").items.isEmpty)

            // Superseded revisions are a status of their own.
            for cap in [1, 2] {
                #expect(try await api.post("/admin/api/quotas", #"{"lane":"user","subject":"user:ann","name":"d","period":"day","max_usd":\#(cap)}"#).status == .created)
            }
            #expect(try await api.get("/admin/api/quotas?status=superseded").items.map { $0["max_usd"] as? Double } == [1])
            #expect(try await api.get("/admin/api/quotas?status=active").items.map { $0["max_usd"] as? Double } == [2])
        }
    }

    @Test func availableModelsShowWhatServesEachNameAndFallbacksKeepTheirTriggers() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            #expect(try await api.post("/admin/api/orgs", #"{"id":"org:acme","name":"Acme","slug":"acme"}"#).status == .ok)
            #expect(try await api.post("/admin/api/credentials", #"{"id":"key:openai:main","provider":"openai","secret":"sk-1"}"#).status == .ok)
            for body in [
                #"{"id":"gpt-4o-b","model":"gpt-4o","credential":"key:openai:main","upstream_model":"gpt-4o-2024-08-06","priority":2}"#,
                #"{"id":"gpt-4o-a","model":"gpt-4o","credential":"key:openai:main","priority":1}"#,
                #"{"id":"mini","model":"gpt-4o-mini","credential":"key:openai:main"}"#,
            ] { #expect(try await api.post("/admin/api/deployments", body).status == .ok, "\(body)") }
            #expect(try await api.post("/admin/api/aliases", #"{"requested_model":"smart","routed_to":"gpt-4o"}"#).status == .ok)
            #expect(try await api.post("/admin/api/aliases", #"{"requested_model":"smart","routed_to":"gpt-4o-mini","org":"org:acme"}"#).status == .ok)

            let global = try await api.get("/admin/api/models")
            #expect(global.items.map { $0["model"] as? String } == ["gpt-4o", "gpt-4o-mini", "smart"], "\(global.text)")
            let served = try #require(global.items.first?["deployments"] as? [[String: Any]])
            #expect(served.map { $0["deployment"] as? String } == ["gpt-4o-a", "gpt-4o-b"], "priority order")
            #expect(served.first?["provider"] as? String == "openai")
            #expect(global.items.last?["routed_to"] as? String == "gpt-4o")
            let acme = try await api.get("/admin/api/models?org=org:acme")
            #expect(acme.items.last?["routed_to"] as? String == "gpt-4o-mini", "the organization's alias wins: \(acme.text)")

            #expect(try await api.post("/admin/api/settings", #"{"ollama_enabled":true}"#).status == .ok)
            #expect(try await api.get("/admin/api/models").items.contains { $0["kind"] as? String == "ollama" })

            let all = try await api.post("/admin/api/fallbacks", #"{"primary_model":"gpt-4o","chain":["gpt-4o-mini"]}"#)
            #expect((all.object["triggers"] as? [String])?.count == 5, "every failure falls back by default: \(all.text)")
            let some = try await api.post("/admin/api/fallbacks", #"{"primary_model":"gpt-4o","chain":["gpt-4o-mini"],"triggers":["rate_limited","credit_expired"]}"#)
            #expect(some.object["triggers"] as? [String] == ["rate_limited", "credit_expired"])
            #expect(try await api.post("/admin/api/fallbacks", #"{"primary_model":"x","chain":["y"],"triggers":["sunspots"]}"#).errorField == "triggers")
            #expect(try await api.post("/admin/api/fallbacks", #"{"primary_model":"x","chain":["y"],"triggers":[]}"#).errorField == "triggers")
        }
    }

    @Test func consistentReadsAskForAReadIndexFirst() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            #expect(try await api.get("/admin/api/users").status == .ok)
            #expect(harness.policy.catchUps == 0)
            #expect(try await api.get("/admin/api/users?consistent=true").status == .ok)
            #expect(harness.policy.catchUps == 1)
            #expect(try await api.get("/admin/api/users?consistent=maybe").errorField == "consistent")
        }
    }

    @Test func profilesExportAndImportAsYAML() async throws {
        let harness = try await AdminHarness()
        try await harness.run { api async throws in
            #expect(try await api.post("/admin/api/principals", #"{"id":"agent:coder"}"#).status == .ok)
            let created = try await api.post("/admin/api/profiles", #"{"id":"agent:coder","name":"Coder","models":{"normal":"gpt-4o-mini","heavy":"gpt-4o","max":"o1"}}"#)
            #expect(created.status == .ok, "\(created.text)")
            let exported = try await api.get("/admin/api/profiles.yaml")
            #expect(exported.status == .ok && exported.text.contains("agent:coder") && exported.text.contains("gpt-4o-mini"), "\(exported.text)")
            #expect(try await api.call(.delete, "/admin/api/profiles/agent:coder").status == .ok)
            let imported = try await api.call(.post, "/admin/api/profiles.yaml", body: exported.text, headers: [.contentType: "application/yaml"])
            #expect(imported.status.code < 300, "\(imported.text)")
            let back = try await api.get("/admin/api/profiles/agent:coder")
            #expect((back.object["models"] as? [String: String])?["heavy"] == "gpt-4o", "\(back.text)")
        }
    }
}
