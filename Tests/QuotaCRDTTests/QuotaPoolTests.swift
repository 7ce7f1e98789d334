import BinaryCoding
import SeededRandom
import Testing
@testable import QuotaCRDT

@Suite struct QuotaPoolTests {
    static let now: Int64 = 1_800_000_000_000
    static let quota = QuotaID(lane: .token, subject: "tok_a", name: "burst")
    static func key(_ period: Period = .tenSeconds, at time: Int64 = now, quota: QuotaID = quota) -> WindowKey {
        WindowKey(quota: quota, period: period, start: period.window(containing: time).start)
    }

    @Test func allocationsNeverPassTheCapAndTheLastGetsWhatIsLeft() {
        var pool = QuotaPool()
        let key = Self.key()
        let caps = Caps(requests: 10)
        let changed = pool.apply(
            [.init(key: key, receiver: 1, amount: Usage(requests: 4)), .init(key: key, receiver: 2, amount: Usage(requests: 4)),
             .init(key: key, receiver: 3, amount: Usage(requests: 4)), .init(key: key, receiver: 1, amount: Usage(requests: 4))],
            time: Self.now) { _ in caps }
        #expect(changed == [key])
        #expect(pool.windows[key]?.allocated == [1: Usage(requests: 4), 2: Usage(requests: 4), 3: Usage(requests: 2)])
        #expect(pool.remaining(in: key, caps: caps) == .zero)
        // A raised cap (a new revision mid-window) frees the difference, no more.
        _ = pool.apply([.init(key: key, receiver: 3, amount: Usage(requests: 9))], time: Self.now) { _ in Caps(requests: 15) }
        #expect(pool.windows[key]?.total == Usage(requests: 15))
        // A lowered cap takes nothing back and gives nothing.
        #expect(pool.apply([.init(key: key, receiver: 2, amount: Usage(requests: 1))], time: Self.now) { _ in Caps(requests: 5) }.isEmpty)
        #expect(pool.windows[key]?.total == Usage(requests: 15))
    }

    @Test func uncappedUnitsAndGoneQuotasAllocateNothing() {
        var pool = QuotaPool()
        let key = Self.key()
        let asked = Usage(requests: 3, tokens: 5_000, microUSD: 7)
        _ = pool.apply([.init(key: key, receiver: 1, amount: asked)], time: Self.now) { _ in Caps(tokens: 100_000) }
        #expect(pool.windows[key]?.allocated[1] == Usage(tokens: 5_000), "only the capped unit needs rights")
        let other = Self.key(.hour)
        #expect(pool.apply([.init(key: other, receiver: 1, amount: asked)], time: Self.now) { _ in nil }.isEmpty)
        #expect(pool.windows[other] == nil)
    }

    @Test func aWindowLongOverIsDroppedAndNeverRevived() {
        var pool = QuotaPool()
        let key = Self.key()
        let caps = Caps(requests: 10)
        _ = pool.apply([.init(key: key, receiver: 1, amount: Usage(requests: 10))], time: Self.now) { _ in caps }
        let later = Self.now + 10_000 + QuotaPool.graceMilliseconds + 1
        #expect(pool.apply([], time: later) { _ in caps }.isEmpty && pool.windows[key] != nil, "an empty entry moves no clock")
        // A request for a window current at `later` lets the log's clock follow the stamp.
        _ = pool.apply([.init(key: Self.key(at: later), receiver: 1, amount: Usage(requests: 1))], time: later) { _ in caps }
        #expect(pool.windows[key] == nil && pool.isOver(key))
        // A request from a node whose clock is far behind: the window would come back with its whole cap.
        #expect(pool.apply([.init(key: key, receiver: 2, amount: Usage(requests: 10))], time: Self.now) { _ in caps }.isEmpty)
        #expect(pool.windows[key] == nil)
        #expect(pool.clock == later, "the log's clock never goes back")
    }

    /// A leader whose clock jumped an hour ahead stamps an entry: the log's clock goes no
    /// further than the end of the windows asked for, so the windows the nodes serve stay.
    @Test func aLeaderClockThatJumpsAheadSweepsNothingTheNodesStillServe() {
        var pool = QuotaPool()
        let key = Self.key()
        let caps = Caps(requests: 10)
        _ = pool.apply([.init(key: key, receiver: 1, amount: Usage(requests: 2))], time: Self.now) { _ in caps }
        let jumped = Self.now + 3_600_000
        _ = pool.apply([.init(key: key, receiver: 2, amount: Usage(requests: 2))], time: jumped) { _ in caps }
        #expect(pool.clock == Period.tenSeconds.window(containing: Self.now).end!)
        #expect(pool.windows[key]?.total == Usage(requests: 4), "the window is still allocated from")
        _ = pool.apply([.init(key: key, receiver: 3, amount: Usage(requests: 2))], time: jumped + 1_000) { _ in caps }
        #expect(pool.windows[key]?.total == Usage(requests: 6))
    }

    @Test func theWindowAndReceiverBoundsHold() {
        var pool = QuotaPool()
        let key = Self.key()
        let requests = (1...UInt64(QuotaPool.receiversMax + 5)).map { QuotaPool.Request(key: key, receiver: $0, amount: Usage(requests: 1)) }
        _ = pool.apply(requests, time: Self.now) { _ in Caps(requests: 1_000) }
        #expect(pool.windows[key]?.allocated.count == QuotaPool.receiversMax)
        #expect(pool.apply([.init(key: key, receiver: QuotaLedger.poolMember, amount: Usage(requests: 1))], time: Self.now) { _ in Caps(requests: 1_000) }.isEmpty)
    }

    /// Seeded: random requests from random receivers over a few windows with caps that
    /// change between entries. At every step each window's total stays within the largest
    /// cap it has had, every allocation only grows, no step allocates past the cap in
    /// force, and the pool survives its encoding unchanged.
    @Test(arguments: Array(1...40) + [7_000_000_001, 7_000_000_002, 7_000_000_003])
    func aSeededRunNeverAllocatesPastACap(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var pool = QuotaPool()
        let keys = [Self.key(), Self.key(.minute), Self.key(quota: QuotaID(lane: .user, subject: "u", name: "n"))]
        var caps: [WindowKey: Caps] = [:]
        var largest: [WindowKey: Usage] = [:]
        var time = Self.now
        for step in 0..<300 {
            for key in keys where Int.random(in: 0..<10, using: &random) == 0 || caps[key] == nil {
                caps[key] = Caps(requests: Int64.random(in: 0...50, using: &random), tokens: Bool.random(using: &random) ? Int64.random(in: 0...10_000, using: &random) : nil)
                largest[key] = (largest[key] ?? .zero).joined(with: caps[key]!.asUsage)
            }
            let before = pool
            let batch = (0..<Int.random(in: 0...6, using: &random)).map { _ in
                QuotaPool.Request(
                    key: keys.randomElement(using: &random)!, receiver: UInt64.random(in: 1...5, using: &random),
                    amount: Usage(requests: Int64.random(in: 0...20, using: &random), tokens: Int64.random(in: 0...3_000, using: &random)))
            }
            time += Int64.random(in: 0...50, using: &random)
            _ = pool.apply(batch, time: time) { caps[$0] }
            for key in keys {
                let total = pool.windows[key]?.total ?? .zero
                #expect(total.isWithin(largest[key]!), "seed \(seed) step \(step): \(key) allocated \(total) past every cap")
                let grew = (before.windows[key]?.total ?? .zero) != total
                if grew {
                    #expect(total.isWithin(caps[key]!.asUsage.joined(with: before.windows[key]?.total ?? .zero)),
                            "seed \(seed) step \(step): allocated past the cap in force")
                }
                for (receiver, amount) in before.windows[key]?.allocated ?? [:] {
                    #expect(amount.isWithin(pool.windows[key]?.allocated[receiver] ?? .zero), "seed \(seed): an allocation shrank")
                }
            }
        }
        var reader = ByteReader(pool.encode())
        #expect(QuotaPool.decode(&reader) == pool && reader.isAtEnd, "seed \(seed): the encoding round-trips")
    }

    @Test func damagedEncodingsAreRefusedNeverTrapped() throws {
        var pool = QuotaPool()
        _ = pool.apply([.init(key: Self.key(), receiver: 1, amount: Usage(requests: 3)), .init(key: Self.key(.month), receiver: 2, amount: Usage(microUSD: 9))],
                       time: Self.now) { _ in Caps(requests: 10, microUSD: 100) }
        let bytes = pool.encode()
        for length in 0..<bytes.count {
            var reader = ByteReader(Array(bytes.prefix(length)))
            #expect(QuotaPool.decode(&reader) == nil, "truncated at \(length)")
        }
        let requests = QuotaPool.encode([.init(key: Self.key(), receiver: 1, amount: Usage(requests: 3))])
        for length in 0..<requests.count {
            var reader = ByteReader(Array(requests.prefix(length)))
            #expect(QuotaPool.decodeRequests(&reader) == nil, "requests truncated at \(length)")
        }
        var reader = ByteReader(requests + [0])
        #expect(QuotaPool.decodeRequests(&reader) == nil, "bytes left over")
        for receiver in [0, QuotaLedger.poolMember] {
            var hostile = ByteReader(QuotaPool.encode([.init(key: Self.key(), receiver: receiver, amount: Usage(requests: 3))]))
            #expect(QuotaPool.decodeRequests(&hostile) == nil, "receiver \(receiver)")
        }
        var negative = QuotaPool.encode([.init(key: Self.key(), receiver: 1, amount: Usage(requests: 3))])
        negative[negative.count - 24] = 0x80  // requests = a negative Int64
        var negativeReader = ByteReader(negative)
        #expect(QuotaPool.decodeRequests(&negativeReader) == nil, "a negative amount")
        var huge: [UInt8] = []
        huge.appendBigEndian(UInt32.max)
        var hugeReader = ByteReader(huge)
        #expect(QuotaPool.decodeRequests(&hugeReader) == nil, "a count no entry could hold")
    }

    /// Near a busy pooled window's end, the ledger asks for one allocation in the next
    /// window, once, and only for windows it admitted in.
    @Test func aBusyWindowPrefetchesTheNextOnceBeforeItEnds() throws {
        let spec = QuotaSpec(id: Self.quota, period: .tenSeconds, caps: Caps(requests: 1_000))
        let key = Self.key()
        let end = try #require(Period.tenSeconds.window(containing: Self.now).end)
        var ledger = QuotaLedger(member: 1)
        _ = ledger.reserve(Usage(requests: 1), against: [spec], members: [QuotaLedger.poolMember], now: Self.now)
        #expect(ledger.prefetches(now: end - 500, horizon: 1_000).isEmpty, "nothing admitted here: nothing to prefetch")
        var pool = QuotaPool()
        _ = pool.apply([.init(key: key, receiver: 1, amount: Usage(requests: 20))], time: Self.now) { _ in spec.caps }
        ledger.merge(try #require(pool.update(for: key, caps: spec.caps)))
        _ = try ledger.reserve(Usage(requests: 1), against: [spec], members: [QuotaLedger.poolMember], now: Self.now).get()
        #expect(ledger.prefetches(now: end - 5_000, horizon: 1_000).isEmpty, "too early")
        let next = WindowKey(quota: Self.quota, period: .tenSeconds, start: end)
        let due = ledger.prefetches(now: end - 500, horizon: 1_000)
        #expect(due.map(\.key) == [next] && due.first?.amount == Usage(requests: 20), "one allocation: 2 % of 1,000")
        _ = pool.apply([.init(key: next, receiver: 1, amount: due[0].amount)], time: end - 500) { _ in spec.caps }
        ledger.merge(try #require(pool.update(for: next, caps: spec.caps))) { _ in [QuotaLedger.poolMember] }
        #expect(ledger.prefetches(now: end - 400, horizon: 1_000).isEmpty, "held already")
        var split = QuotaLedger(member: 1)
        _ = try split.reserve(Usage(requests: 1), against: [spec], members: [1, 2], now: Self.now).get()
        #expect(split.prefetches(now: end - 500, horizon: 1_000).isEmpty, "a window split over members has no pool")
    }

    /// A pooled window in a node's ledger: nothing is admitted before an allocation, what
    /// is allocated is admitted, the pool's rest shows as spare elsewhere, and a forced
    /// removal reassigns nothing a member was allocated.
    @Test func aLedgerAdmitsWhatThePoolAllocatedAndNoMore() throws {
        let spec = QuotaSpec(id: Self.quota, period: .tenSeconds, caps: Caps(requests: 10))
        let key = Self.key()
        var ledger = QuotaLedger(member: 1)
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [spec], members: [QuotaLedger.poolMember], now: Self.now) else {
            Issue.record("a pooled window gives no base share"); return
        }
        #expect(ledger.isPooled(key) && ledger.poolRemaining(in: key) == Usage(requests: 10))
        #expect(ledger.allocation(in: key, for: Usage(requests: 1)) == Usage(requests: 4), "four estimates beat 2 % of 10")
        var pool = QuotaPool()
        _ = pool.apply([.init(key: key, receiver: 1, amount: Usage(requests: 4)), .init(key: key, receiver: 2, amount: Usage(requests: 3))],
                       time: Self.now) { _ in spec.caps }
        ledger.merge(try #require(pool.update(for: key, caps: spec.caps)))
        for _ in 0..<4 { _ = try ledger.reserve(Usage(requests: 1), against: [spec], members: [QuotaLedger.poolMember], now: Self.now).get() }
        guard case .failure = ledger.reserve(Usage(requests: 1), against: [spec], members: [QuotaLedger.poolMember], now: Self.now) else {
            Issue.record("admitted past its allocation"); return
        }
        #expect(ledger.poolRemaining(in: key) == Usage(requests: 3))
        #expect(ledger.spareElsewhere(in: key) == Usage(requests: 6), "the pool's 3 and member 2's 3")
        #expect(ledger.reassignment(of: 2, to: [1, 3]).isEmpty, "member 2's allocation is never handed on")
        // The pool is counted once when judging whether asking can help: 6 are out there.
        #expect(!ledger.isSpent(key, for: Usage(requests: 6)) && ledger.isSpent(key, for: Usage(requests: 7)))
    }
}
