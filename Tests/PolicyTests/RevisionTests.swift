import Testing
@testable import Policy

@Suite struct RevisionTests {
    private func seeded() throws -> Applier {
        var a = Applier()
        _ = try a.must(.putUser(Fixture.user("user:alice")))
        _ = try a.must(.putUser(Fixture.user("user:bob")))
        _ = try a.must(.putCredential(Fixture.credential("key:openai:prod")))
        return a
    }

    @Test func quotaRevisionsAreAppendOnly() throws {
        var a = try seeded()
        _ = try a.must(.upsertQuota(Fixture.quota(.user, "user:alice", "hour", requests: 10)))
        _ = try a.must(.upsertQuota(Fixture.quota(.user, "user:alice", "hour", requests: 20)))
        _ = try a.must(.upsertQuota(Fixture.quota(.user, "user:alice", "day", period: .day, usd: 5_000_000)))
        _ = try a.must(.revokeQuota(lane: .user, subject: "user:alice", name: "day"))
        #expect(a.state.quotaRevisions.map(\.id) == [1, 2, 3, 4])
        #expect(a.state.quotaRevisions[0].maxRequests == 10, "the first revision is never edited")
        let active = a.state.activeQuotas(for: [(.user, "user:alice"), (.user, "user:bob")])
        #expect(active.map(\.id) == [2])
        #expect(a.apply(.revokeQuota(lane: .user, subject: "user:alice", name: "day")).isFailure)

        let page = try a.state.quotaRevisions(QuotaFilter(status: .active), PageRequest())
        #expect(page.items.map(\.id) == [2])
        #expect(try a.state.quotaRevisions(QuotaFilter(status: .revoked), PageRequest()).items.map(\.id) == [4])
        #expect(try a.state.quotaRevisions(QuotaFilter(name: "DA"), PageRequest()).items.map(\.id) == [4, 3])
        #expect(try a.state.quotaRevisions(QuotaFilter(lane: .key), PageRequest()).items.isEmpty)
    }

    @Test func quotaInputIsChecked() throws {
        var a = try seeded()
        #expect(a.apply(.upsertQuota(Fixture.quota(.user, "user:nobody", "hour"))) == .failure(.unknownReference(field: "subject", id: "user:nobody")))
        #expect(a.apply(.upsertQuota(Fixture.quota(.user, "user:alice", "hour", requests: nil))).failureField == "max_usd")
        #expect(a.apply(.upsertQuota(Fixture.quota(.user, "user:alice", "hour", requests: -1))).failureField == "max_requests")
        #expect(a.apply(.upsertQuota(Fixture.quota(.user, "user:alice", "bad name"))).failureField == "name")
        #expect(a.state.quotaRevisions.isEmpty)
    }

    @Test func thePriceOfARequestPrefersKeyThenProviderModelThenModel() throws {
        var a = try seeded()
        _ = try a.must(.upsertPricing(Fixture.price(.model, "gpt-4o", input: 2_500_000, output: 10_000_000)))
        #expect(a.state.price(credential: "key:openai:prod", provider: "openai", model: "gpt-4o")?.scope == .model)
        _ = try a.must(.upsertPricing(Fixture.price(.providerModel, "openai:gpt-4o", input: 2_000, output: nil)))
        let providerPrice = try #require(a.state.price(credential: "key:openai:prod", provider: "openai", model: "gpt-4o"))
        #expect(providerPrice.scope == .providerModel && providerPrice.outputNanoUSDPer1k == 2_000, "a single price applies to both")
        _ = try a.must(.upsertPricing(Fixture.price(.key, "key:openai:prod", input: 1, output: 2)))
        #expect(a.state.price(credential: "key:openai:prod", provider: "openai", model: "gpt-4o")?.scope == .key)
        _ = try a.must(.revokePricing(scope: .key, subject: "key:openai:prod"))
        #expect(a.state.price(credential: "key:openai:prod", provider: "openai", model: "gpt-4o")?.scope == .providerModel)
        #expect(a.state.price(credential: nil, provider: nil, model: "o1") == nil)
        #expect(a.apply(.upsertPricing(Fixture.price(.providerModel, "gpt-4o", input: 1, output: 1))).failureField == "subject")
        #expect(a.apply(.upsertPricing(Fixture.price(.model, "m", input: -1, output: 1))).failureField == "input_per_1k")
        #expect(try a.state.pricingRevisions(PricingFilter(scope: .key), PageRequest()).items.map(\.id) == [4, 3])
    }

    @Test func pagesWalkEveryItemOnceAndBadCursorsAreNamed() throws {
        var a = Applier()
        for n in 0..<23 { _ = try a.must(.putUser(Fixture.user("user:u\(n < 10 ? "0" : "")\(n)"))) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try a.state.users(matching: nil, PageRequest(cursor: cursor, limit: 5))
            seen += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == (0..<23).map { "user:u\($0 < 10 ? "0" : "")\($0)" })
        #expect(throws: PolicyError.self) { try a.state.users(matching: nil, PageRequest(cursor: "zzz", limit: 5)) }
        #expect(throws: PolicyError.self) { try PageRequest(limit: 0) }
        var history: [Int] = []
        cursor = nil
        repeat {
            let page = try a.state.history(HistoryFilter(action: "user"), PageRequest(cursor: cursor, limit: 7))
            history += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(history == Array((1...23).reversed()))
    }
}
