import SeededRandom
import Testing
@testable import Policy

/// Random command sequences over small id spaces (so references hit and miss), with
/// snapshots taken and restored along the way: the restored state must equal the live
/// one and answer every query the same. A refused command must change nothing.
@Suite struct PolicyPropertyTests {
    static let seeds: [UInt64] = Array(1...60)

    @Test(arguments: seeds) func snapshotRestoreIsIdentical(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var live = Applier()
        var restored: Applier?
        var applied = 0
        for step in 0..<400 {
            let command = RandomCommand.make(&rng)
            let before = live.state
            let result = live.apply(command)
            if case .success = result { applied += 1 }
            if case .failure = result {
                var expected = before
                expected.lastAppliedAt = live.state.lastAppliedAt
                #expect(live.state == expected, "seed \(seed) step \(step): a refused \(command) changed the state")
            }
            if var copy = restored {
                let again = copy.apply(command)
                #expect(again == result, "seed \(seed) step \(step): restored state answered differently")
                restored = copy
            }
            if rng.next() % 50 == 0 {
                let bytes = PolicyCodec.snapshot(live.state)
                restored = Applier(state: try PolicyCodec.restore(bytes), index: live.index)
                #expect(PolicyCodec.snapshot(restored!.state) == bytes, "seed \(seed): snapshot is not stable")
            }
        }
        #expect(applied > 60 && applied < 340, "seed \(seed): \(applied) of 400 commands applied; the generator should hit and miss")
        let final = try #require(restored ?? Applier(state: try PolicyCodec.restore(PolicyCodec.snapshot(live.state)), index: live.index))
        #expect(final.state == live.state, "seed \(seed): replay with `swift test --filter PolicyPropertyTests` and this seed")
        try expectSameAnswers(live.state, final.state, seed: seed)
    }

    private func expectSameAnswers(_ a: PolicyState, _ b: PolicyState, seed: UInt64) throws {
        let page = try PageRequest(limit: 7)
        for text in [nil, "a", "1", "default"] {
            #expect(try a.users(matching: text, page).items == b.users(matching: text, page).items, "seed \(seed)")
            #expect(try a.principals(matching: text, page).items == b.principals(matching: text, page).items, "seed \(seed)")
        }
        for status in RevisionStatus.allCases {
            #expect(try a.quotaRevisions(QuotaFilter(status: status), page).items == b.quotaRevisions(QuotaFilter(status: status), page).items)
            #expect(try a.pricingRevisions(PricingFilter(status: status), page).items == b.pricingRevisions(PricingFilter(status: status), page).items)
        }
        #expect(try a.history(HistoryFilter(), page).items == b.history(HistoryFilter(), page).items)
        let subjects = RandomCommand.users.map { (QuotaLane.user, $0) } + RandomCommand.principals.map { (QuotaLane.principal, $0) }
        #expect(a.activeQuotas(for: subjects) == b.activeQuotas(for: subjects))
        for n in 0..<6 { #expect(a.token(secretHash: Fixture.hash(n)) == b.token(secretHash: Fixture.hash(n))) }
        for model in RandomCommand.models {
            #expect(a.price(credential: "key:openai:a", provider: "openai", model: model) == b.price(credential: "key:openai:a", provider: "openai", model: model))
        }
    }
}

/// Commands drawn from small pools of ids.
enum RandomCommand {
    static let users = ["user:a", "user:b", "user:c"]
    static let orgs = ["org:x", "org:y"]
    static let apps = ["app:p", "app:q"]
    static let principals = ["agent:1", "service:2", "human:3"]
    static let credentials = ["key:openai:a", "key:anthropic:b"]
    static let models = ["gpt-4o", "claude", "gemma"]

    static func make(_ rng: inout SplitMix64) -> PolicyCommand {
        func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }
        func maybe<T>(_ list: [T]) -> T? { rng.next() % 3 == 0 ? nil : pick(list) }
        let pending = AuditStamp.pending
        switch rng.next() % 14 {
        case 0: return .putUser(Fixture.user(pick(users + ["bad"]), name: maybe(["Ann", "Bo"]), org: maybe(orgs)))
        case 1: return .putOrganization(Fixture.org(pick(orgs), slug: pick(["s1", "s2", "s3"]), owner: maybe(users)))
        case 2: return .putApplication(Fixture.app(pick(apps), name: maybe(["CRM", "Bot"])))
        case 3: return .putPrincipal(Fixture.principal(pick(principals), app: maybe(apps), groups: rng.next() % 2 == 0 ? [] : ["g1"]))
        case 4: return .issueToken(Fixture.token("tok_\(rng.next() % 6)", hash: Fixture.hash(Int(rng.next() % 6)), principal: pick(principals), user: maybe(users)))
        case 5: return .revokeToken(id: "tok_\(rng.next() % 6)")
        case 6: return .putCredential(Fixture.credential(pick(credentials), secret: rng.next() % 2 == 0 ? nil : [UInt8(rng.next() % 256)]))
        case 7:
            return .putDeployment(Deployment(
                id: pick(["d1", "d2"]), model: pick(models), credential: pick(credentials), upstreamModel: pick(models),
                weight: Int(rng.next() % 3), priority: 0, maxOutputTokens: nil, created: pending, updated: pending))
        case 8: return .putAlias(Alias(id: "", requestedModel: pick(models), routedTo: pick(models), organization: maybe(orgs), created: pending, updated: pending))
        case 9:
            let lane = pick([QuotaLane.user, .principal, .org])
            let subject = lane == .user ? pick(users) : lane == .principal ? pick(principals) : pick(orgs)
            return .upsertQuota(Fixture.quota(lane, subject, pick(["hour", "day"]), period: pick(QuotaPeriod.allCases), requests: Int64(rng.next() % 100) - 5))
        case 10:
            return .revokeQuota(lane: pick([.user, .principal]), subject: pick(users + principals), name: pick(["hour", "day"]))
        case 11:
            return .upsertPricing(Fixture.price(pick(PricingScope.allCases), pick(models + credentials + ["openai:gpt-4o"]), input: Int64(rng.next() % 5), output: maybe([1, 2])))
        case 12: return .revokePricing(scope: pick(PricingScope.allCases), subject: pick(models + credentials + ["openai:gpt-4o"]))
        default: return .delete(pick(PolicyTable.allCases), id: pick(users + orgs + apps + principals + credentials + ["d1"]))
        }
    }
}
