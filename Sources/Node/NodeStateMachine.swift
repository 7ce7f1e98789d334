import BinaryCoding
import Crypto
import DequeModule
import Policy
import QuotaCRDT
import Synchronization

/// The node's replicated state. Every entry starts with a tag byte naming its kind; a
/// node that meets a tag it does not know stops (it cannot skip a committed entry and stay
/// consistent), telling the operator to upgrade it.
///
/// - tag 1, canary: an operator's end-to-end write probe (`POST /cluster/v1/canary`).
///   Each node keeps the count, a running SHA-256 digest over (index, nonce) — equal on
///   every node that applied the same canaries — and the most recent canaries by index.
/// - tag 2, quota membership: from which window start the quota caps split over which
///   voters (`MembershipSchedule`); the leader appends one after every voter change.
/// - tag 3, quota reassignment: the unused rights of a member removed by force, handed
///   to the remaining voters (window updates, merged into every node's quota ledger).
/// - tag 4, policy: the leader's clock (8 bytes, ms) then a `PolicyCodec` entry, applied to
///   the `PolicyStore`.
final class NodeStateMachine: ReplicatedStateMachine {
    enum Tag: UInt8 {
        case canary = 1
        case quotaMembership = 2
        case quotaReassignment = 3
        case policy = 4
    }

    /// Canaries kept for look-up by index, at most.
    static let recentCanariesMax = 10_000

    struct Canaries: Equatable {
        var count: UInt64 = 0
        var digest = [UInt8](repeating: 0, count: 32)
        var lastIndex: UInt64 = 0
        var recent = Deque<(index: UInt64, nonce: UInt64)>()

        static func == (a: Canaries, b: Canaries) -> Bool {
            a.count == b.count && a.digest == b.digest && a.lastIndex == b.lastIndex
                && a.recent.elementsEqual(b.recent) { $0.index == $1.index && $0.nonce == $1.nonce }
        }
    }

    private let canaries = Mutex(Canaries())
    private let schedule = Mutex(MembershipSchedule())
    private let onQuotaSchedule: @Sendable (MembershipSchedule) -> Void
    private let onQuotaReassignment: @Sendable ([WindowUpdate]) -> Void
    /// The applied policy.
    let policy: PolicyStore

    /// A state machine that tells the quota service about membership schedules and
    /// reassigned rights as it applies them.
    init(
        onQuotaSchedule: @escaping @Sendable (MembershipSchedule) -> Void = { _ in },
        onQuotaReassignment: @escaping @Sendable ([WindowUpdate]) -> Void = { _ in },
        policy: PolicyStore = PolicyStore()
    ) {
        self.policy = policy
        self.onQuotaSchedule = onQuotaSchedule
        self.onQuotaReassignment = onQuotaReassignment
    }

    /// A quota membership entry's bytes.
    static func quotaMembershipEntry(effectiveFrom: Int64, voters: [UInt64]) -> [UInt8] {
        var bytes: [UInt8] = [Tag.quotaMembership.rawValue]
        bytes.appendBigEndian(effectiveFrom)
        bytes.appendBigEndian(UInt16(voters.count))
        for voter in voters.sorted() { bytes.appendBigEndian(voter) }
        return bytes
    }

    /// A quota reassignment entry's bytes.
    static func quotaReassignmentEntry(_ updates: [WindowUpdate]) -> [UInt8] {
        [Tag.quotaReassignment.rawValue] + WindowUpdateCodec.encode(updates)
    }

    /// A policy entry's bytes, with the time left for the leader to stamp.
    static func policyEntry(_ entry: PolicyEntry) -> [UInt8] {
        [Tag.policy.rawValue] + [UInt8](repeating: 0, count: 8) + PolicyCodec.encode(entry)
    }

    /// The leader's stamp: writes `now` (ms) into a policy entry's time; other entries pass
    /// unchanged.
    static func stampingPolicyTime(_ data: [UInt8], now: Int64) -> [UInt8] {
        guard data.first == Tag.policy.rawValue, data.count > 9 else { return data }
        var stamped = data
        var time: [UInt8] = []
        time.appendBigEndian(now)
        stamped.replaceSubrange(1..<9, with: time)
        return stamped
    }

    /// The quota membership schedule applied so far.
    var quotaSchedule: MembershipSchedule { schedule.withLock { $0 } }

    /// A canary entry's bytes.
    static func canaryEntry(nonce: UInt64) -> [UInt8] {
        var bytes: [UInt8] = [Tag.canary.rawValue]
        bytes.appendBigEndian(nonce)
        return bytes
    }

    func apply(_ data: [UInt8], at index: UInt64) {
        defer { policy.noteApplied(index) }
        guard let tag = data.first.flatMap(Tag.init(rawValue:)) else {
            fatalError("weir: entry \(index) has kind \(data.first ?? 0), unknown to this version; upgrade this node")
        }
        switch tag {
        case .policy:
            var reader = ByteReader(Array(data.dropFirst()))
            guard let time = reader.readUInt64(), let entry = PolicyCodec.decodeEntry(data.dropFirst(9)) else {
                fatalError("weir: entry \(index) is a policy entry this version cannot read; upgrade this node")
            }
            policy.apply(entry, time: Int64(bitPattern: time), at: index)
        case .quotaMembership:
            var reader = ByteReader(Array(data.dropFirst()))
            guard let from = reader.readUInt64(), let count = reader.readUInt16(), Int(count) * 8 == reader.remaining else {
                fatalError("weir: malformed quota membership at entry \(index)")
            }
            let voters = (0..<count).compactMap { _ in reader.readUInt64() }
            let updated = schedule.withLock { s in
                s.append(effectiveFrom: Int64(bitPattern: from), voters: voters)
                return s
            }
            onQuotaSchedule(updated)
        case .quotaReassignment:
            guard let updates = WindowUpdateCodec.decode(Array(data.dropFirst())) else {
                fatalError("weir: malformed quota reassignment at entry \(index)")
            }
            onQuotaReassignment(updates)
        case .canary:
            var reader = ByteReader(Array(data.dropFirst()))
            guard let nonce = reader.readUInt64(), reader.isAtEnd else { fatalError("weir: malformed canary at entry \(index)") }
            canaries.withLock { state in
                var input = state.digest
                input.appendBigEndian(index)
                input.appendBigEndian(nonce)
                state.digest = Array(SHA256.hash(data: input))
                state.count += 1
                state.lastIndex = index
                state.recent.append((index, nonce))
                if state.recent.count > Self.recentCanariesMax { state.recent.removeFirst() }
            }
        }
    }

    func snapshot() -> [UInt8] {
        var bytes: [UInt8] = [3]  // snapshot format version
        canaries.withLock { state in
            bytes.appendBigEndian(state.count)
            bytes += state.digest
            bytes.appendBigEndian(state.lastIndex)
            bytes.appendBigEndian(UInt32(state.recent.count))
            for canary in state.recent {
                bytes.appendBigEndian(canary.index)
                bytes.appendBigEndian(canary.nonce)
            }
        }
        bytes += schedule.withLock { $0.encode() }
        bytes.appendLengthPrefixed(policy.snapshot())
        return bytes
    }

    struct UnreadableSnapshot: Error, CustomStringConvertible {
        var description: String { "the node state snapshot is unreadable" }
    }

    func restore(from data: [UInt8], at index: UInt64) throws {
        var restored = Canaries()
        var restoredSchedule = MembershipSchedule()
        var restoredPolicy = PolicyState()
        if !data.isEmpty {
            var reader = ByteReader(data)
            guard let version = reader.readByte(), (1...3).contains(version), let count = reader.readUInt64(),
                  let digest = reader.readBytes(32), let last = reader.readUInt64(), let kept = reader.readUInt32(),
                  Int(kept) <= reader.remaining / 16
            else { throw UnreadableSnapshot() }
            restored.count = count
            restored.digest = digest
            restored.lastIndex = last
            for _ in 0..<kept {
                guard let index = reader.readUInt64(), let nonce = reader.readUInt64() else { throw UnreadableSnapshot() }
                restored.recent.append((index, nonce))
            }
            if version >= 2 {
                guard let decoded = MembershipSchedule.decode(&reader) else { throw UnreadableSnapshot() }
                restoredSchedule = decoded
            }
            if version >= 3 {
                guard let bytes = reader.readLengthPrefixed() else { throw UnreadableSnapshot() }
                restoredPolicy = try PolicyCodec.restore(bytes)
            }
            guard reader.isAtEnd else { throw UnreadableSnapshot() }
        }
        canaries.withLock { $0 = restored }
        schedule.withLock { $0 = restoredSchedule }
        policy.restore(restoredPolicy, at: index)
        onQuotaSchedule(restoredSchedule)
    }

    /// Count, digest and last index of the canaries applied.
    var canarySummary: (count: UInt64, digest: [UInt8], lastIndex: UInt64) {
        canaries.withLock { ($0.count, $0.digest, $0.lastIndex) }
    }

    /// The nonce of the canary at `index`, if it is among the recent ones.
    func canary(at index: UInt64) -> UInt64? {
        canaries.withLock { state in state.recent.first { $0.index == index }?.nonce }
    }
}
