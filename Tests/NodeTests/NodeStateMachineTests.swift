import Policy
import BinaryCoding
import QuotaCRDT
import Synchronization
import Testing
@testable import Node

@Suite struct NodeStateMachineTests {
    @Test func canariesChainADigestAndSurviveASnapshot() throws {
        let a = NodeStateMachine()
        let b = NodeStateMachine()
        for index in UInt64(1)...50 {
            a.apply(NodeStateMachine.canaryEntry(nonce: index * 7), at: index)
            b.apply(NodeStateMachine.canaryEntry(nonce: index * 7), at: index)
        }
        #expect(a.canarySummary.digest == b.canarySummary.digest)
        #expect(a.canarySummary.count == 50 && a.canary(at: 20) == 140)

        let restored = NodeStateMachine()
        try restored.restore(from: a.snapshot(), at: 0)
        #expect(restored.canarySummary.digest == a.canarySummary.digest && restored.canary(at: 50) == 350)
        restored.apply(NodeStateMachine.canaryEntry(nonce: 1), at: 51)
        a.apply(NodeStateMachine.canaryEntry(nonce: 2), at: 51)
        #expect(restored.canarySummary.digest != a.canarySummary.digest, "a different canary changes the digest")
        #expect(throws: (any Error).self) { try NodeStateMachine().restore(from: [1, 2, 3], at: 0) }
    }

    @Test func onlyTheMostRecentCanariesAreKept() {
        let machine = NodeStateMachine()
        let total = UInt64(NodeStateMachine.recentCanariesMax + 5)
        for index in 1...total { machine.apply(NodeStateMachine.canaryEntry(nonce: index), at: index) }
        #expect(machine.canary(at: 5) == nil)
        #expect(machine.canary(at: total) == total)
        #expect(machine.canarySummary.count == total)
    }
}

@Suite struct QuotaEntriesTests {
    @Test func quotaMembershipAndReassignmentReachTheQuotaServiceAndTheSnapshot() throws {
        let schedules = Mutex<[MembershipSchedule]>([])
        let reassigned = Mutex<[WindowUpdate]>([])
        let machine = NodeStateMachine(
            onQuotaSchedule: { schedule in schedules.withLock { $0.append(schedule) } },
            onQuotaReassignment: { updates in reassigned.withLock { $0 += updates } })
        machine.apply(NodeStateMachine.quotaMembershipEntry(effectiveFrom: .min, voters: [2, 1]), at: 1)
        machine.apply(NodeStateMachine.quotaMembershipEntry(effectiveFrom: 50_000, voters: [1, 2, 3]), at: 2)
        #expect(machine.quotaSchedule.voters(at: 49_999) == [1, 2])
        #expect(schedules.withLock { $0.last } == machine.quotaSchedule)
        var counter = EscrowCounter()
        counter.grant(Usage(requests: 3), from: 3, to: 1)
        let update = WindowUpdate(
            key: WindowKey(quota: QuotaID(lane: .user, subject: "user:a", name: "n"), period: .hour, start: 0),
            members: [1, 2, 3], end: 3_600_000, caps: Caps(requests: 9), counter: counter)
        machine.apply(NodeStateMachine.quotaReassignmentEntry([update]), at: 3)
        #expect(reassigned.withLock { $0 } == [update])

        let restored = NodeStateMachine(onQuotaSchedule: { schedule in schedules.withLock { $0.append(schedule) } })
        try restored.restore(from: machine.snapshot(), at: 0)
        #expect(restored.quotaSchedule == machine.quotaSchedule)
        #expect(schedules.withLock { $0.last } == machine.quotaSchedule, "a restore tells the quota service too")
    }
}

/// Allocation entries are decided against the applied policy's caps, reach the quota
/// service, survive a snapshot and are refused when damaged.
@Suite struct QuotaAllocationEntryTests {
    static let now: Int64 = 1_800_000_000_000
    static let key = WindowKey(quota: QuotaID(lane: .user, subject: "user:u1", name: "burst"), period: .tenSeconds,
                               start: Period.tenSeconds.window(containing: now).start)

    static func quotaEntry(requests: Int64, period: QuotaPeriod = .tenSeconds) -> [UInt8] {
        let revision = QuotaRevision(
            id: 0, lane: .user, subject: "user:u1", name: "burst", period: period, maxMicroUSD: nil, maxTokens: nil,
            maxRequests: requests, rollover: false, revoked: false, stamp: .pending)
        return NodeStateMachine.stampingPolicyTime(
            NodeStateMachine.policyEntry(PolicyEntry(actor: "human:admin", command: .upsertQuota(revision))), now: now)
    }

    static func allocation(_ receiver: UInt64, _ requests: Int64, at time: Int64 = now) -> [UInt8] {
        NodeStateMachine.stampingPolicyTime(
            NodeStateMachine.quotaAllocationEntry([QuotaPool.Request(key: key, receiver: receiver, amount: Usage(requests: requests))]), now: time)
    }

    @Test func allocationsFollowThePolicyCapAndSurviveASnapshot() throws {
        let told = Mutex<[WindowUpdate]>([])
        let machine = NodeStateMachine(onQuotaAllocation: { updates in told.withLock { $0 += updates } })
        let user = User(id: "user:u1", displayName: "U", email: nil, status: .active, role: .member, organization: nil, created: .pending, updated: .pending)
        machine.apply(NodeStateMachine.policyEntry(PolicyEntry(actor: "human:admin", command: .putUser(user))), at: 1)
        machine.apply(Self.quotaEntry(requests: 8), at: 1)
        machine.apply(Self.allocation(1, 5), at: 1)
        #expect(told.withLock { $0 }.isEmpty, "a window no schedule entry pools allocates nothing (its cap is in base shares)")
        machine.apply(NodeStateMachine.quotaMembershipEntry(effectiveFrom: .min, voters: [QuotaLedger.poolMember]), at: 1)
        machine.apply(NodeStateMachine.policyEntry(PolicyEntry(
            actor: "human:admin", command: .revokeQuota(lane: .user, subject: "user:u1", name: "burst"))), at: 1)
        machine.apply(Self.allocation(1, 5), at: 1)
        #expect(told.withLock { $0 }.isEmpty, "no quota, no allocation")
        machine.apply(Self.quotaEntry(requests: 8), at: 2)
        #expect(machine.policy.current.activeQuota(lane: .user, subject: "user:u1", name: "burst") != nil)
        machine.apply(Self.allocation(1, 5), at: 3)
        machine.apply(Self.allocation(2, 5), at: 4)
        #expect(machine.pool.withLock { $0.windows[Self.key]?.allocated } == [1: Usage(requests: 5), 2: Usage(requests: 3)])
        let last = try #require(told.withLock { $0.last })
        #expect(last.members == [QuotaLedger.poolMember] && last.counter.granted[QuotaLedger.poolMember]?[2] == Usage(requests: 3))
        // A new revision with another period: the window's quota is gone.
        machine.apply(Self.quotaEntry(requests: 100, period: .hour), at: 5)
        machine.apply(Self.allocation(3, 5), at: 6)
        #expect(machine.pool.withLock { $0.windows[Self.key]?.allocated[3] } == nil)

        let restoredTold = Mutex<[WindowUpdate]>([])
        let restored = NodeStateMachine(onQuotaAllocation: { updates in restoredTold.withLock { $0 += updates } })
        try restored.restore(from: machine.snapshot(), at: 6)
        #expect(restored.pool.withLock { $0 } == machine.pool.withLock { $0 })
        machine.apply(Self.quotaEntry(requests: 8), at: 7)
        restored.apply(Self.quotaEntry(requests: 8), at: 7)
        restored.apply(Self.allocation(3, 5), at: 8)
        machine.apply(Self.allocation(3, 5), at: 8)
        #expect(restored.pool.withLock { $0 } == machine.pool.withLock { $0 }, "a restored replica decides as the others do")
        #expect(machine.pool.withLock { $0.windows[Self.key]?.total } == Usage(requests: 8))
    }

    @Test func damagedAllocationEntriesAreRefusedAndRejected() {
        let good = Self.allocation(1, 5)
        #expect(NodeStateMachine.check(good) == nil)
        for length in 1..<good.count {
            #expect(NodeStateMachine.check(Array(good.prefix(length))) != nil, "truncated at \(length)")
        }
        #expect(NodeStateMachine.check(good + [0]) != nil)
        let machine = NodeStateMachine()
        machine.apply(Array(good.prefix(20)), at: 1)
        #expect(machine.rejected.count == 1 && machine.pool.withLock { $0.windows.isEmpty })
    }
}

/// Entries a node cannot apply once crashed every node at apply, and again on every
/// restart. Now the leader refuses them, and apply rejects the ones that arrive anyway.
@Suite struct RejectedEntryTests {
    static let hostile: [(bytes: [UInt8], newer: Bool)] = [
        ([], false), ([0x00, 0x09], true), ([0xFF], true), ([1], false), ([1, 0, 0, 0, 0, 0, 0, 0, 1, 9], false),
        ([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], false), ([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8), false),
        ([3, 7, 7, 7], false), ([4, 1, 2], false), ([4] + [UInt8](repeating: 0, count: 8) + [9, 123], true),
        ([4] + [UInt8](repeating: 0, count: 8) + [1] + Array("{\"not\":\"an entry\"}".utf8), false),
    ]

    @Test func everyNodeRejectsTheSameEntriesTheSameWayAndGoesOn() {
        let a = NodeStateMachine(), b = NodeStateMachine()
        for (offset, entry) in Self.hostile.enumerated() {
            let verdict = NodeStateMachine.check(entry.bytes)
            #expect(verdict != nil, "\(entry.bytes) would be proposed")
            if case .newerVersion = verdict { #expect(entry.newer, "\(entry.bytes)") } else { #expect(!entry.newer, "\(entry.bytes)") }
            a.apply(entry.bytes, at: UInt64(offset + 1))
            b.apply(entry.bytes, at: UInt64(offset + 1))
        }
        #expect(a.rejected.count == UInt64(Self.hostile.count))
        #expect(a.rejected.recent.map(\.reason) == b.rejected.recent.map(\.reason), "deterministic across nodes")
        let next = UInt64(Self.hostile.count + 1)
        a.apply(NodeStateMachine.canaryEntry(nonce: 5), at: next)
        #expect(a.canarySummary.count == 1, "the node applies what follows")
        #expect(NodeStateMachine.check(NodeStateMachine.canaryEntry(nonce: 5)) == nil)
        #expect(NodeStateMachine.check(NodeStateMachine.quotaMembershipEntry(effectiveFrom: 0, voters: [1, 2])) == nil)
        #expect(NodeStateMachine.check(NodeStateMachine.quotaMembershipEntry(effectiveFrom: 0, voters: [0, 2])) != nil, "member 0")
    }

    @Test func anUnreadableSnapshotIsRefusedBeforeItIsInstalled() {
        let machine = NodeStateMachine()
        machine.apply(NodeStateMachine.canaryEntry(nonce: 3), at: 1)
        #expect(machine.canRestore(from: machine.snapshot()))
        #expect(!machine.canRestore(from: [3, 1, 2, 3]))
        #expect(!machine.canRestore(from: [9] + [UInt8](repeating: 0, count: 60)), "a newer snapshot format")
        var withNodeZero: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        withNodeZero += [0, 0, 0, 3] + Array("x:1".utf8) + [0, 0, 0, 0]
        #expect(DriverSnapshot.decode(withNodeZero) == nil, "an address for node 0")
        var withNodeOne = withNodeZero
        withNodeOne[11] = 1
        #expect(DriverSnapshot.decode(withNodeOne)?.addresses == [1: "x:1"], "the same bytes for node 1 decode")
    }

    /// A machine holding `users` users (each with its audit record), written through the
    /// real entry path.
    private func machine(users: Int) -> NodeStateMachine {
        let machine = NodeStateMachine()
        for n in 0..<users {
            let user = User(
                id: "user:person\(n)", displayName: "Person Number \(n)", email: "person\(n)@example.com", status: .active, role: .member,
                organization: nil, created: .pending, updated: .pending)
            let entry = NodeStateMachine.policyEntry(PolicyEntry(actor: "human:admin", command: .putUser(user)))
            machine.apply(NodeStateMachine.stampingPolicyTime(entry, now: 1_700_000_000_000 + Int64(n)), at: UInt64(n + 1))
        }
        return machine
    }

    /// The snapshot is zstd-compressed (format 5): at most 100 bytes per user with its audit
    /// record (the JSON alone takes about 400), and it restores to the same state.
    @Test func theSnapshotIsCompressedAndRestoresTheSameState() throws {
        let source = machine(users: 5000)
        let clock = ContinuousClock()
        let start = clock.now
        let snapshot = source.snapshot()
        let took = clock.now - start
        let plain = source.uncompressedSnapshot()
        let restoreStart = clock.now
        _ = source.canRestore(from: snapshot)
        let restoreTook = clock.now - restoreStart
        // Printed, not asserted: a loaded machine stretches times.
        print("node snapshot: \(snapshot.count) bytes for 5000 users (\(snapshot.count / 5000) per user), \(plain.count) uncompressed; taken in \(took), read back in \(restoreTook)")
        #expect(snapshot.first == NodeStateMachine.compressedSnapshotVersion)
        #expect(snapshot.count <= 100 * 5000, "\(snapshot.count) bytes")
        let restored = NodeStateMachine()
        try restored.restore(from: snapshot, at: 5000)
        #expect(restored.uncompressedSnapshot() == plain)
        let fromOldFormat = NodeStateMachine()
        try fromOldFormat.restore(from: plain, at: 5000)
        #expect(fromOldFormat.uncompressedSnapshot() == plain, "format 4 (uncompressed) still restores")
    }

    /// `restore` installs what `canRestore` parsed only for the same bytes: a check of one
    /// snapshot followed by the restore of another installs the other.
    @Test func aCheckedSnapshotIsReusedOnlyForTheSameBytes() throws {
        let small = machine(users: 3), large = machine(users: 7)
        let target = NodeStateMachine()
        #expect(target.canRestore(from: small.snapshot()))
        try target.restore(from: large.snapshot(), at: 7)
        #expect(target.uncompressedSnapshot() == large.uncompressedSnapshot())
        #expect(target.canRestore(from: small.snapshot()))
        try target.restore(from: small.snapshot(), at: 3)
        #expect(target.uncompressedSnapshot() == small.uncompressedSnapshot())
        #expect(target.policy.current.users.count == 3)
    }

    @Test func aDamagedOrLyingCompressedSnapshotIsRefused() {
        let good = machine(users: 20).snapshot()
        let probe = NodeStateMachine()
        #expect(probe.canRestore(from: good))
        for cut in stride(from: 1, to: good.count, by: 7) { #expect(!probe.canRestore(from: Array(good[..<cut])), "cut at \(cut)") }
        var flipped = good
        flipped[flipped.count / 2] ^= 0x40
        #expect(!probe.canRestore(from: flipped), "a flipped bit in the frame")
        var lying = good
        lying[8] &+= 1  // the stated size no longer matches the frame's
        #expect(!probe.canRestore(from: lying))
        var huge: [UInt8] = [NodeStateMachine.compressedSnapshotVersion]
        huge.appendBigEndian(UInt64.max)
        #expect(!probe.canRestore(from: huge + Array(good[9...])), "a size past the limit is refused before any allocation")
        // A bomb: 64 MiB of zeros in a few kilobytes, its size stated truly. Refused by
        // the expansion limit before the 64 MiB are allocated.
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        var bomb: [UInt8] = [NodeStateMachine.compressedSnapshotVersion]
        bomb.appendBigEndian(UInt64(zeros.count))
        bomb += Zstd.compress(zeros)
        #expect(bomb.count * NodeStateMachine.snapshotExpansionMax < zeros.count, "the frame is a bomb (\(bomb.count) bytes)")
        #expect(!probe.canRestore(from: bomb))
        // A frame of a frame: format 5 must hold format 4, not itself.
        let inner = good
        var nested: [UInt8] = [NodeStateMachine.compressedSnapshotVersion]
        nested.appendBigEndian(UInt64(inner.count))
        #expect(!probe.canRestore(from: nested + Zstd.compress(inner)))
    }
}
