import Testing
@testable import Policy

@Suite struct PolicyStateTests {
    @Test func entitiesAreStampedAndKeepTheirCreation() throws {
        var a = Applier()
        _ = try a.must(.putUser(Fixture.user("user:alice", name: "Alice")))
        _ = try a.must(.putUser(Fixture.user("user:alice", name: "Alice B.")))
        let alice = try #require(a.state.users["user:alice"])
        #expect(alice.displayName == "Alice B.")
        #expect(alice.created.index == 1 && alice.created.at == 1000)
        #expect(alice.updated.index == 2 && alice.updated.actor == "human:admin")
        #expect(a.state.history.map(\.summary) == ["created", "updated"])
    }

    @Test func errorsNameTheFieldAndChangeNothing() {
        var a = Applier()
        #expect(a.apply(.putUser(Fixture.user("alice"))) == .failure(.invalid(field: "id", message: "'alice' must start with 'user:' followed by a name (example: user:alice)")))
        #expect(a.apply(.putUser(Fixture.user("user:bob", org: "org:none"))) == .failure(.unknownReference(field: "organization", id: "org:none")))
        #expect(a.apply(.putUser(Fixture.user("user:bob", email: "not-an-email"))).failureField == "email")
        #expect(a.apply(.putPrincipal(Fixture.principal("robot:x"))).failureField == "id")
        #expect(a.apply(.putPrincipal(Fixture.principal("agent:x", groups: ["a", "a"]))).failureField == "groups")
        var mislabelled = Fixture.principal("service:x")
        mislabelled.kind = .agent
        #expect(a.apply(.putPrincipal(mislabelled)).failureField == "kind")
        #expect(a.state.users.count == 0 && a.state.principals.count == 0 && a.state.history.isEmpty)
        #expect(a.state.lastAppliedAt == 6000)
    }

    @Test func deletesAreRefusedWhileReferenced() throws {
        var a = Applier()
        _ = try a.must(.putApplication(Fixture.app("app:crm")))
        _ = try a.must(.putPrincipal(Fixture.principal("agent:bot", app: "app:crm")))
        #expect(a.apply(.delete(.apps, id: "app:crm")) == .failure(.referenced(kind: "app", id: "app:crm", by: ["agent:bot"])))
        _ = try a.must(.delete(.principals, id: "agent:bot"))
        _ = try a.must(.delete(.apps, id: "app:crm"))
        #expect(a.apply(.delete(.apps, id: "app:crm")) == .failure(.notFound(kind: "app", id: "app:crm")))
    }

    @Test func tokensAreFoundByHashAndRevokedOnce() throws {
        var a = Applier()
        _ = try a.must(.putPrincipal(Fixture.principal("agent:bot")))
        _ = try a.must(.issueToken(Fixture.token("tok_1", hash: Fixture.hash(1), principal: "agent:bot")))
        #expect(a.apply(.issueToken(Fixture.token("tok_2", hash: Fixture.hash(1), principal: "agent:bot"))) == .failure(.alreadyExists(kind: "token secret", id: "weir_tok_2")))
        #expect(a.state.token(secretHash: Fixture.hash(1))?.id == "tok_1")
        #expect(a.apply(.issueToken(Fixture.token("tok_3", hash: Fixture.hash(3), principal: "agent:bot", scopes: ["god.mode"]))).failureField == "scopes")
        _ = try a.must(.revokeToken(id: "tok_1"))
        #expect(a.state.token(secretHash: Fixture.hash(1))?.isUsable(at: 0) == false)
        #expect(a.apply(.revokeToken(id: "tok_1")).failureField == "id")
    }

    @Test func bootstrapAdminAppliesOnce() throws {
        var a = Applier()
        let admin = Fixture.principal("human:admin")
        _ = try a.must(.bootstrapAdmin(principal: admin, token: Fixture.token("tok_a", hash: Fixture.hash(10), principal: "human:admin", scopes: ["admin.super"])))
        #expect(a.apply(.bootstrapAdmin(principal: admin, token: Fixture.token("tok_b", hash: Fixture.hash(11), principal: "human:admin"))) == .failure(.alreadyExists(kind: "bootstrap admin", id: "cluster")))
        #expect(a.state.tokens.count == 1 && a.state.bootstrapped)
        #expect(Scope.adminRead.isGranted(by: ["admin.super"]) && !Scope.adminSuper.isGranted(by: ["admin.write"]))
    }

    @Test func credentialsKeepTheirSecretWhenAnUpdateOmitsIt() throws {
        var a = Applier()
        #expect(a.apply(.putCredential(Fixture.credential("openai:prod"))).failureField == "id")
        #expect(a.apply(.putCredential(Fixture.credential("key:openai:prod", secret: nil))).failureField == "secret")
        _ = try a.must(.putCredential(Fixture.credential("key:openai:prod", secret: [9, 9])))
        var update = Fixture.credential("key:openai:prod", secret: nil)
        update.baseURL = "https://example.test/v1"
        _ = try a.must(.putCredential(update))
        #expect(a.state.credentials["key:openai:prod"]?.sealedSecret == [9, 9])
        #expect(a.state.credentials["key:openai:prod"]?.baseURL == "https://example.test/v1")
    }

    @Test func aliasesResolveOrganizationFirst() throws {
        var a = Applier()
        _ = try a.must(.putOrganization(Fixture.org("org:acme", slug: "acme")))
        let pending = AuditStamp.pending
        _ = try a.must(.putAlias(Alias(id: "", requestedModel: "gpt-4", routedTo: "gpt-4o-mini", organization: nil, created: pending, updated: pending)))
        _ = try a.must(.putAlias(Alias(id: "", requestedModel: "gpt-4", routedTo: "claude-3-5-sonnet", organization: "org:acme", created: pending, updated: pending)))
        #expect(a.state.resolveAlias("gpt-4", organization: "org:acme") == "claude-3-5-sonnet")
        #expect(a.state.resolveAlias("gpt-4", organization: "org:other") == "gpt-4o-mini")
        #expect(a.state.resolveAlias("o1", organization: nil) == "o1")
        #expect(a.apply(.delete(.orgs, id: "org:acme")) == .failure(.referenced(kind: "org", id: "org:acme", by: ["alias org:acme/gpt-4"])))
    }

    @Test func agentProfilesFallBackToTheirRole() throws {
        var a = Applier()
        _ = try a.must(.putPrincipal(Fixture.principal("agent:coder-1")))
        let pending = AuditStamp.pending
        let role = ModelProfile(id: "role:coder", role: nil, name: nil, models: [.normal: "gpt-4o-mini", .heavy: "gpt-4o", .max: "o1"], created: pending, updated: pending)
        let agent = ModelProfile(id: "agent:coder-1", role: "role:coder", name: nil, models: [.heavy: "claude-3-5-sonnet"], created: pending, updated: pending)
        #expect(a.apply(.putProfile(agent)) == .failure(.unknownReference(field: "role", id: "role:coder")))
        _ = try a.must(.importProfiles([agent, role], replace: true))
        #expect(a.state.profileModel(for: "agent:coder-1", mode: .heavy) == "claude-3-5-sonnet")
        #expect(a.state.profileModel(for: "agent:coder-1", mode: .max) == "o1")
        #expect(a.apply(.delete(.profiles, id: "role:coder")).isFailure)
    }
}

extension Result where Failure == PolicyError {
    var failureField: String? {
        if case let .failure(error) = self { return error.field }
        return nil
    }
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}

@Suite struct PolicyByteLimitTests {
    /// 60 family emoji are 60 characters and 1,500 bytes: a limit in characters let them
    /// through, and the quota codec, which counts bytes, trapped on gossip.
    @Test func idsAndNamesAreLimitedInBytes() {
        var a = Applier()
        let family = String(repeating: "👨‍👩‍👧‍👦", count: 60)
        #expect(family.count == 60 && family.utf8.count > Check.idBytesMax)
        #expect(a.apply(.putUser(Fixture.user("user:" + family))).failureField == "id")
        #expect(a.apply(.putPrincipal(Fixture.principal("agent:" + family))).failureField == "id")
        let accents = "user:" + "e" + String(repeating: "\u{301}", count: 150)  // 2 characters
        #expect(a.apply(.putUser(Fixture.user(accents))).failureField == "id")
        #expect(a.apply(.putUser(Fixture.user("user:" + String(repeating: "é", count: 97)))).failureField == nil, "199 bytes fit")
    }
}
