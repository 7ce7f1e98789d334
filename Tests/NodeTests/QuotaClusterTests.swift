import NodeTestSupport
import QuotaCRDT
import Storage
import Synchronization
import Testing
@testable import Node

/// The quota gate over real nng sockets: three nodes in this process share a cap of 500
/// requests per 10 s window (DESIGN.md section 4).
@Suite(.serialized, .timeLimit(.minutes(3))) struct QuotaClusterTests {
    static let quota = QuotaSpec(
        id: QuotaID(lane: .app, subject: "app:crm", name: "burst"), period: .tenSeconds, caps: Caps(requests: 500))
    static let one = Usage(requests: 1)

    static func key(at now: Int64) -> WindowKey {
        WindowKey(quota: quota.id, period: .tenSeconds, start: Period.tenSeconds.window(containing: now).start)
    }

    /// Drives `attempts` admissions through `service`, `concurrency` at a time, settling
    /// each admitted one; returns how many were admitted and one refusal, if any.
    static func drive(_ service: QuotaService, attempts: Int, concurrency: Int) async -> (admitted: Int, refusal: QuotaRefusal?) {
        await withTaskGroup(of: (Int, QuotaRefusal?).self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var admitted = 0
                    var refusal: QuotaRefusal?
                    for _ in stride(from: worker, to: attempts, by: concurrency) {
                        switch await service.reserve(one, against: [quota]) {
                        case let .success(reservation):
                            service.settle(reservation, actual: one)
                            admitted += 1
                        case let .failure(refused):
                            refusal = refused
                        }
                    }
                    return (admitted, refusal)
                }
            }
            return await group.reduce(into: (0, nil)) { total, part in
                total.0 += part.0
                total.1 = total.1 ?? part.1
            }
        }
    }

    /// Concurrent admissions through all three nodes at once, each node offered 300
    /// requests: at most 500 and at least 495 are admitted, and every node's view of the
    /// usage converges to what was admitted.
    @Test func aCapHoldsExactlyAcrossThreeNodes() async throws {
        let cluster = try await QuotaTestCluster(size: 3)
        let key = Self.key(at: cluster.now)
        let results = await withTaskGroup(of: (Int, QuotaRefusal?).self) { group in
            for id in cluster.ids {
                let service = cluster.members[id]!.service
                group.addTask { await Self.drive(service, attempts: 300, concurrency: 12) }
            }
            return await group.reduce(into: [(Int, QuotaRefusal?)]()) { $0.append($1) }
        }
        let admitted = results.map(\.0).reduce(0, +)
        #expect(admitted <= 500, "the cap is 500; \(admitted) were admitted")
        #expect(admitted >= 495, "at least 99% of the cap is admitted; \(admitted) were")
        let refusal = try #require(results.compactMap(\.1).first)
        #expect(refusal.quota == Self.quota.id && refusal.unit == "requests" && refusal.caps.requests == 500)
        #expect(refusal.resetsAt == key.start + 10_000)
        try await waitUntil("every node sees \(admitted) admitted", within: .seconds(10)) {
            cluster.ids.allSatisfy { cluster.members[$0]!.service.usage(in: key).requests == Int64(admitted) }
        }
        await cluster.shutdown()
    }

    /// Node 3 is cut off from the others mid-window and keeps admitting on its own
    /// rights: together they still admit at most 500, and once reconnected they agree.
    @Test func aCapHoldsWhenANodeIsCutOffMidWindow() async throws {
        let cluster = try await QuotaTestCluster(size: 3)
        let key = Self.key(at: cluster.now)
        func round(_ attempts: Int) async -> Int {
            await withTaskGroup(of: Int.self) { group in
                for id in cluster.ids {
                    let service = cluster.members[id]!.service
                    group.addTask { await Self.drive(service, attempts: attempts, concurrency: 8).admitted }
                }
                return await group.reduce(0, +)
            }
        }
        let before = await round(80)
        #expect(before == 240, "within every node's share, nothing is refused")
        try await cluster.connect([1, 2])
        let after = await round(250)
        #expect(before + after <= 500, "the cap is 500; \(before + after) were admitted")
        #expect(before + after >= 450, "both sides used their own rights; \(before + after) were admitted")
        try await cluster.connect([1, 2, 3])
        try await waitUntil("the nodes agree again", within: .seconds(10)) {
            cluster.ids.allSatisfy { cluster.members[$0]!.service.usage(in: key).requests == Int64(before + after) }
        }
        await cluster.shutdown()
    }

    /// A node that crashes with reservations open comes back counting them as used (its
    /// durable high-water mark): it may under-admit, never admit twice.
    @Test func aCrashedNodeNeverForgetsWhatItAdmitted() async throws {
        var configuration = QuotaConfiguration()
        configuration.rightsWaitMilliseconds = 20
        let cluster = try await QuotaTestCluster(size: 3, configuration: configuration)
        try await cluster.connect([])  // node 1 alone: its share of 500 is 167
        let key = Self.key(at: cluster.now)
        let service = cluster.members[1]!.service
        var open: [ReservationID] = []
        for n in 0..<100 {
            let reservation = try await service.reserve(Self.one, against: [Self.quota]).get()
            if n < 60 { service.settle(reservation, actual: Self.one) } else { open.append(reservation) }
        }
        await cluster.crash(1)
        try cluster.start(1)
        let restarted = cluster.members[1]!.service
        #expect(restarted.usage(in: key).requests >= 100, "the 40 open reservations count as used")
        var more = 0
        while case let .success(reservation) = await restarted.reserve(Self.one, against: [Self.quota]) {
            restarted.settle(reservation, actual: Self.one)
            more += 1
        }
        #expect(100 + more <= 167, "over both lives node 1 stays within its share: \(100 + more)")
        await cluster.shutdown()
    }

    /// A node whose own record of a window is unreadable at start cannot know what it
    /// admitted or gave there: it fails closed in that window (before, it skipped the
    /// record and started the window afresh, admitting its share a second time). The fence
    /// outlives the next restart; other windows are served.
    @Test func anUnreadableRecordFencesItsWindowAcrossRestarts() async throws {
        let cluster = try await QuotaTestCluster(size: 3)
        try await cluster.connect([])  // node 1 alone: its share of 500 is 167
        let key = Self.key(at: cluster.now)
        let other = QuotaSpec(id: QuotaID(lane: .user, subject: "user:ana", name: "burst"), period: .tenSeconds, caps: Caps(requests: 500))
        for _ in 0..<100 {
            let service = cluster.members[1]!.service
            service.settle(try await service.reserve(Self.one, against: [Self.quota]).get(), actual: Self.one)
        }
        await cluster.crash(1)
        let database = try Database(path: "\(cluster.root)/1", columnFamilies: StorageLayout.all)
        try database.put(StorageLayout.quota, WindowUpdateCodec.encode(key), [0x07, 0x00], sync: true)
        database.close()
        for life in 1...2 {
            try cluster.start(1)
            let service = cluster.members[1]!.service
            guard case .failure = await service.reserve(Self.one, against: [Self.quota]) else {
                Issue.record("life \(life): the window whose record was lost admitted again"); return
            }
            #expect((try? await service.reserve(Self.one, against: [other]).get()) != nil, "life \(life): another window is served")
            await cluster.crash(1)
        }
        await cluster.shutdown()
    }

    /// A record whose key does not read either could be any window's: every window that
    /// began before the start is fenced, and the next window is served.
    @Test func anUnattributableRecordFencesEveryOlderWindow() async throws {
        let cluster = try await QuotaTestCluster(size: 1)
        await cluster.crash(1)
        let database = try Database(path: "\(cluster.root)/1", columnFamilies: StorageLayout.all)
        try database.put(StorageLayout.quota, [0xDE, 0xAD], [0xBE, 0xEF], sync: true)
        database.close()
        try cluster.start(1)
        let service = cluster.members[1]!.service
        guard case .failure = await service.reserve(Self.one, against: [Self.quota]) else {
            Issue.record("a window older than the lost record admitted"); return
        }
        let stored = try cluster.members[1]!.database.get(StorageLayout.meta, QuotaStore.fenceKey)
        #expect(stored.flatMap(QuotaFence.decode)?.startedBefore == cluster.now)
        #expect(try cluster.members[1]!.database.get(StorageLayout.quota, [0xDE, 0xAD]) == nil, "the record is gone, the fence kept")
        await cluster.shutdown()
    }

    /// A window this node dropped as long over (its own usage record with it) came back
    /// to life from a peer's gossip or rights request, stale or from a skewed clock, and
    /// undercounted what this node had admitted. It is ignored now; a current one is not.
    @Test func aLongOverWindowIsNotRevivedByAPeer() async throws {
        let cluster = try await QuotaTestCluster(size: 1)
        let service = cluster.members[1]!.service
        func update(at time: Int64) -> WindowUpdate {
            let key = Self.key(at: time)
            var counter = EscrowCounter()
            counter.addUsed(Usage(requests: 7), by: 2)
            return WindowUpdate(key: key, members: [1], end: key.start + 10_000, caps: Caps(requests: 500), counter: counter)
        }
        let old = update(at: cluster.now - 3_600_000), current = update(at: cluster.now)
        service.merge([old, current], from: 2)
        #expect(service.usage(in: old.key).requests == 0, "an hour-old window stays dropped")
        #expect(service.usage(in: current.key).requests == 7, "the current window merges")
        await cluster.shutdown()
    }
}

@Suite struct RightsRequestTests {
    @Test func aRightsRequestRoundTripsAndRejectsDamage() {
        var counter = EscrowCounter()
        counter.addUsed(Usage(requests: 4), by: 2)
        let window = WindowUpdate(
            key: QuotaClusterTests.key(at: 1_800_000_000_000), members: [1, 2, 3], end: 1_800_000_010_000,
            caps: Caps(requests: 500), counter: counter)
        for kind in [RightsRequestKind.urgent, .topUp] {
            let request = RightsRequest(window: window, amount: Usage(requests: 7, tokens: 1), kind: kind)
            #expect(RightsRequest.decode(request.encode()) == request)
            var unknownKind = request.encode()
            unknownKind[unknownKind.count - 1] = 9
            #expect(RightsRequest.decode(unknownKind) == nil)
            #expect(RightsRequest.decode(Array(request.encode().dropFirst())) == nil)
        }
    }
}
