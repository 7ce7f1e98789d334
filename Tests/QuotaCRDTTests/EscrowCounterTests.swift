import SeededRandom
import Testing
@testable import QuotaCRDT

@Suite struct EscrowCounterTests {
    private func randomUsage(_ random: inout SplitMix64) -> Usage {
        Usage(requests: .random(in: 0...3, using: &random), tokens: .random(in: 0...500, using: &random),
              microUSD: .random(in: 0...9_000, using: &random))
    }

    /// Random operations on replicas owned by members 1...4, merged in random orders:
    /// merge is commutative, associative and idempotent, and once every replica has
    /// merged every other, all equal the naive model (the sum of every operation).
    @Test(arguments: UInt64(1)...40)
    func mergeLawsAndConvergenceAgainstANaiveModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let members: [UInt64] = [1, 2, 3, 4]
        var replicas = Dictionary(uniqueKeysWithValues: members.map { ($0, EscrowCounter()) })
        var naiveUsed: [UInt64: Usage] = [:]
        var naiveGranted: [UInt64: [UInt64: Usage]] = [:]
        for _ in 0..<200 {
            let member = members.randomElement(using: &random)!
            switch Int.random(in: 0..<3, using: &random) {
            case 0:
                let amount = randomUsage(&random)
                replicas[member]!.addUsed(amount, by: member)
                naiveUsed[member, default: .zero] += amount
            case 1:
                let other = members.filter { $0 != member }.randomElement(using: &random)!
                let amount = randomUsage(&random)
                replicas[member]!.grant(amount, from: member, to: other)
                naiveGranted[member, default: [:]][other, default: .zero] += amount
            default:
                let other = members.randomElement(using: &random)!
                replicas[member]!.merge(replicas[other]!)
            }
        }
        let (a, b, c) = (replicas[1]!, replicas[2]!, replicas[3]!)
        var ab = a; ab.merge(b)
        var ba = b; ba.merge(a)
        #expect(ab == ba, "seed \(seed): merge is not commutative")
        var abc1 = ab; abc1.merge(c)
        var bc = b; bc.merge(c)
        var abc2 = a; abc2.merge(bc)
        #expect(abc1 == abc2, "seed \(seed): merge is not associative")
        var aa = a; aa.merge(a)
        #expect(aa == a, "seed \(seed): merge is not idempotent")

        var everything = EscrowCounter()
        for member in members { everything.merge(replicas[member]!) }
        for member in members {
            #expect(everything.used(by: member) == (naiveUsed[member] ?? .zero), "seed \(seed): member \(member)'s usage")
        }
        for (giver, grants) in naiveGranted {
            for (receiver, amount) in grants {
                #expect(everything.granted[giver]?[receiver] == amount, "seed \(seed): grant \(giver)→\(receiver)")
            }
        }
        // Grants only move rights: their total over the members is the total of the bases.
        let caps = Caps(requests: 1000, tokens: 1_000_000, microUSD: 10_000_000)
        let totalRights = members.map { everything.rights(of: $0, base: caps.baseShare(of: $0, among: members)) }.reduce(.zero, +)
        #expect(totalRights == caps.asUsage, "seed \(seed): rights were created or destroyed")
    }

    @Test func deltasCarryExactlyWhatThePeerLacks() {
        var mine = EscrowCounter()
        mine.addUsed(Usage(requests: 2), by: 1)
        mine.grant(Usage(requests: 5), from: 1, to: 2)
        var theirs = EscrowCounter()
        theirs.merge(mine)
        #expect(mine.delta(since: theirs).isEmpty)
        mine.addUsed(Usage(requests: 1), by: 1)
        let delta = mine.delta(since: theirs)
        #expect(delta.used == [1: Usage(requests: 3)] && delta.granted.isEmpty)
        theirs.merge(delta)
        #expect(theirs == mine)
    }

    @Test func baseSharesAddUpToTheCapExactly() {
        let caps = Caps(requests: 500, tokens: 1_000_001)
        for count in 1...7 {
            let members = (1...UInt64(count)).map { $0 * 10 }
            let total = members.map { caps.baseShare(of: $0, among: members) }.reduce(.zero, +)
            #expect(total.requests == 500 && total.tokens == 1_000_001)
        }
        #expect(caps.baseShare(of: 99, among: [1, 2]) == .zero, "a non-member has no share")
        #expect(caps.baseShare(of: 1, among: [1, 2]).microUSD == 0, "an uncapped unit has no share to split")
        #expect(caps.admits(Usage(requests: 250, tokens: 1, microUSD: 9_999_999), within: Usage(requests: 250, tokens: 1)),
                "an uncapped unit is never refused")
        #expect(!caps.admits(Usage(requests: 251), within: Usage(requests: 250, tokens: 1)))
    }
}
