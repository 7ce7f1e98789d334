import SeededRandom
import Testing
@testable import Policy

/// `ChunkedArray` against a plain array: random appends and drops from the front,
/// with copies taken along the way that must not change when the original does. Seeds
/// from two far-apart ranges; a failure names its seed.
struct ChunkedArrayTests {
    static let seeds: [UInt64] = Array(1...20) + Array(7_000_000_001...7_000_000_005)

    @Test(arguments: seeds) func behavesAsAnArrayAndCopiesStayApart(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var chunked = ChunkedArray<Int>()
        var model: [Int] = []
        var copies: [(ChunkedArray<Int>, [Int])] = []
        for step in 0..<3_000 {
            switch rng.next() % 20 {
            case 0:
                let k = Int(rng.next() % UInt64(model.count + 3))
                chunked.removeFirst(k)
                model.removeFirst(min(k, model.count))
            case 2:
                copies.append((chunked, model))
            default:
                for _ in 0..<Int(rng.next() % 700) {
                    chunked.append(step)
                    model.append(step)
                }
            }
            #expect(chunked.count == model.count, "seed \(seed), step \(step)")
        }
        #expect(Array(chunked) == model, "seed \(seed)")
        if let probe = model.indices.randomElement(using: &rng) { #expect(chunked[probe] == model[probe], "seed \(seed)") }
        for (copy, expected) in copies { #expect(Array(copy) == expected, "seed \(seed): a copy changed with the original") }
    }

    @Test func droppingEverythingLeavesAnEmptyArrayThatGrowsAgain() {
        var chunked = ChunkedArray(0..<3_000)
        chunked.removeFirst(5_000)
        #expect(chunked.isEmpty)
        chunked.append(7)
        #expect(Array(chunked) == [7])
        chunked.removeFirst(-3)
        #expect(chunked.count == 1)
    }
}

/// The revision and history lists are `ChunkedArray`s whose subscript traps out of range:
/// a client's cursor, whatever number it holds, must page or be refused, never reach it.
struct HostileCursorTests {
    @Test(arguments: ["n.0", "n.1", "n.2", "n.3", "n.9223372036854775807", "n.-1", "n.-9223372036854775808", "n.", "n.1e3", "t.00"])
    func anyCursorPagesOrIsRefused(cursor: String) throws {
        var state = PolicyState()
        let user = User(id: "user:u1", displayName: "U", email: nil, status: .active, role: .member, organization: nil, created: .pending, updated: .pending)
        _ = state.apply(PolicyEntry(actor: "human:admin", command: .putUser(user)), time: 1, index: 1)
        for n in 0..<3 {
            let revision = QuotaRevision(id: 0, lane: .user, subject: "user:u1", name: "q\(n)", period: .day, maxMicroUSD: nil,
                                         maxTokens: nil, maxRequests: 5, rollover: false, revoked: false, stamp: .pending)
            _ = state.apply(PolicyEntry(actor: "human:admin", command: .upsertQuota(revision)), time: 2 + Int64(n), index: 2 + UInt64(n))
        }
        let page = try PageRequest(cursor: cursor, limit: 2)
        for read in [
            { _ = try state.quotaRevisions(QuotaFilter(), page) }, { _ = try state.quotaRevisions(QuotaFilter(subject: "user:u1"), page) },
            { _ = try state.pricingRevisions(PricingFilter(), page) }, { _ = try state.history(HistoryFilter(), page) },
        ] as [() throws -> Void] {
            do { try read() } catch is PolicyError {}  // a refusal is a typed error; a trap would end the test run
        }
    }
}
