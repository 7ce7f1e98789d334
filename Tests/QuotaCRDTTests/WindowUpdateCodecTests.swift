import SeededRandom
import Testing
@testable import QuotaCRDT

@Suite struct WindowUpdateCodecTests {
    static func randomUpdate(_ random: inout SplitMix64) -> WindowUpdate {
        let lane = Lane.allCases.randomElement(using: &random)!
        let period = Period.allCases.randomElement(using: &random)!
        // A real window: the codec refuses starts that begin no window of the period.
        let window = period.window(containing: Int64.random(in: 0...2_000_000_000_000, using: &random))
        let key = WindowKey(
            quota: QuotaID(lane: lane, subject: "\(lane.rawValue):sü-\(random.next() % 1000)", name: "q\(random.next() % 7)"),
            period: period, start: window.start)
        func maybe() -> Int64? { Bool.random(using: &random) ? Int64.random(in: 0...1 << 40, using: &random) : nil }
        let members = (1...UInt64.random(in: 1...7, using: &random)).map { $0 }
        var counter = EscrowCounter()
        for member in members where Bool.random(using: &random) {
            counter.addUsed(Usage(requests: .random(in: 0...99, using: &random), tokens: .random(in: 0...1 << 30, using: &random)), by: member)
            if let other = members.filter({ $0 != member }).randomElement(using: &random) {
                counter.grant(Usage(microUSD: .random(in: 1...1 << 40, using: &random)), from: member, to: other)
            }
        }
        return WindowUpdate(
            key: key, members: members, end: window.end,
            caps: Caps(requests: maybe(), tokens: maybe(), microUSD: maybe()), counter: counter)
    }

    /// Random updates survive a round trip; every strict prefix of a message and every
    /// one-byte corruption of its header decodes to nil or to something, never crashes.
    @Test(arguments: UInt64(1)...30)
    func roundTripsAndRejectsTruncation(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let updates = (0..<Int.random(in: 0...5, using: &random)).map { _ in Self.randomUpdate(&random) }
        let bytes = WindowUpdateCodec.encode(updates)
        #expect(WindowUpdateCodec.decode(bytes) == updates, "seed \(seed)")
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 40)) {
            #expect(WindowUpdateCodec.decode(Array(bytes.prefix(length))) == nil, "seed \(seed): a prefix of \(length) bytes decoded")
        }
        for update in updates {
            #expect(WindowUpdateCodec.decodeKey(WindowUpdateCodec.encode(update.key)) == update.key)
        }
    }

    /// What a faulty or hostile peer may send: starts that begin no window, ends far in the
    /// future, member 0, members twice, more slots than any cluster has.
    @Test func hostileUpdatesAreRefusedOrCorrected() {
        var random = SplitMix64(seed: 7)
        let honest = Self.randomUpdate(&random)
        func decoded(_ change: (inout WindowUpdate) -> Void) -> [WindowUpdate]? {
            var update = honest
            change(&update)
            return WindowUpdateCodec.decode(WindowUpdateCodec.encode([update]))
        }
        #expect(decoded { $0.end = Int64.max - 5 }?.first?.end == honest.end, "the end is the calendar's, not the sender's")
        #expect(decoded { $0.key.start = Int64.max } == nil)
        #expect(decoded { $0.key.start = -86_400_000 } == nil, "before 1970")
        #expect(decoded { $0.key.start += 1 } == nil, "not a window start")
        #expect(decoded { $0.members = [0, 1] } == nil)
        #expect(decoded { $0.members = [1, 1, 2] } == nil)
        #expect(decoded { $0.members = Array(1...UInt64(EscrowCounter.slotsMax + 1)) } == nil)
        var many = EscrowCounter(), more = EscrowCounter()
        for member in UInt64(1)...UInt64(EscrowCounter.slotsMax) { many.addUsed(Usage(requests: 1), by: member) }
        for member in UInt64(10_001)...UInt64(10_000 + EscrowCounter.slotsMax) { more.addUsed(Usage(requests: 1), by: member) }
        many.merge(more)
        #expect(many.used.count == EscrowCounter.slotsMax, "merges cannot grow a counter past slotsMax, so encoding never overflows its counts")
    }

    @Test func rejectsAnUnknownVersionAndHugeCounts() {
        #expect(WindowUpdateCodec.decode([2, 0, 0, 0, 0]) == nil)
        #expect(WindowUpdateCodec.decode([1, 0xFF, 0xFF, 0xFF, 0xFF]) == nil, "a count larger than the message")
        #expect(WindowUpdateCodec.decode([1, 0, 0, 0, 0]) == [])
    }
}
