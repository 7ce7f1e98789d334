import BinaryCoding
import Crypto
import DequeModule
import Policy
import QuotaCRDT
import Synchronization

/// The node's replicated state. Every entry starts with a tag byte naming its kind. An
/// entry this version cannot apply (unknown kind, damaged bytes) is rejected: recorded,
/// counted and logged, the same way on every node of this version, never a crash. The
/// leader checks every proposal first (`check`), so such an entry reaches the log only
/// from a node of another version or from a lying disk.
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
/// - tag 5, member incarnation: a node id and the incarnation of the data directory it
///   runs from (`Incarnation`); the cluster's memory of which life of each node is a member.
/// - tag 6, quota allocation: the leader's clock (8 bytes, ms) then nodes' requests for
///   rights in pooled windows (`QuotaPool`), decided against the applied policy's caps and
///   merged into every node's quota ledger.
/// - tag 7, member level: a node id and the entry level of the build it runs
///   (`NodeStateMachine+Levels.swift`): the leader proposes nothing above the lowest level
///   among the members.
final class NodeStateMachine: ReplicatedStateMachine {
    enum Tag: UInt8 {
        case canary = 1
        case quotaMembership = 2
        case quotaReassignment = 3
        case policy = 4
        case memberIncarnation = 5
        case quotaAllocation = 6
        case memberLevel = 7
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

    let canaries = Mutex(Canaries())
    let schedule = Mutex(MembershipSchedule())
    let incarnations = Mutex<[UInt64: Incarnation]>([:])
    let pool = Mutex(QuotaPool())
    let levels = Mutex<[UInt64: UInt16]>([:])
    /// The members in force (voters and learners), from the Raft driver.
    let members = Mutex<[UInt64]>([])
    /// The last snapshot `canRestore` parsed, and its bytes: `restore` of the same bytes
    /// installs it instead of decompressing and decoding them a second time (at 100k users
    /// that is most of a join's time).
    let checkedSnapshot = Mutex<CheckedSnapshot?>(nil)
    let onQuotaAllocation: @Sendable ([WindowUpdate]) -> Void
    let onQuotaSchedule: @Sendable (MembershipSchedule) -> Void
    private let onQuotaReassignment: @Sendable ([WindowUpdate]) -> Void
    private let onRejection: @Sendable (UInt64, Rejection) -> Void
    /// The applied policy.
    let policy: PolicyStore

    /// A state machine that tells the quota service about membership schedules and
    /// reassigned rights as it applies them.
    init(
        onQuotaSchedule: @escaping @Sendable (MembershipSchedule) -> Void = { _ in },
        onQuotaReassignment: @escaping @Sendable ([WindowUpdate]) -> Void = { _ in },
        onQuotaAllocation: @escaping @Sendable ([WindowUpdate]) -> Void = { _ in },
        onRejection: @escaping @Sendable (UInt64, Rejection) -> Void = { _, _ in },
        policy: PolicyStore = PolicyStore()
    ) {
        self.policy = policy
        self.onRejection = onRejection
        self.onQuotaSchedule = onQuotaSchedule
        self.onQuotaReassignment = onQuotaReassignment
        self.onQuotaAllocation = onQuotaAllocation
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

    /// A quota allocation entry's bytes, with the time left for the leader to stamp.
    static func quotaAllocationEntry(_ requests: [QuotaPool.Request]) -> [UInt8] {
        [Tag.quotaAllocation.rawValue] + [UInt8](repeating: 0, count: 8) + QuotaPool.encode(requests)
    }

    /// The leader's stamp: writes `now` (ms) into a policy or quota allocation entry's
    /// time; other entries pass unchanged.
    static func stampingPolicyTime(_ data: [UInt8], now: Int64) -> [UInt8] {
        guard data.first == Tag.policy.rawValue || data.first == Tag.quotaAllocation.rawValue, data.count >= 9 else { return data }
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

    /// Why a committed entry was not applied. The same bytes get the same verdict on every
    /// node of one version, so rejecting keeps the replicas equal where a crash would
    /// have stopped all of them, on every restart.
    enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        /// Bytes no version writes: damaged, or proposed by a faulty peer.
        case malformed(String)
        /// A kind or encoding of a later version of Weir.
        case newerVersion(String)
        /// A kind some member's build cannot apply yet (refused at proposal, never at apply).
        case aboveClusterLevel(String, needs: UInt16, cluster: UInt16)

        var description: String {
            switch self {
            case let .malformed(what): "malformed \(what)"
            case let .newerVersion(what): "\(what) of a newer version of Weir; upgrade this node"
            case let .aboveClusterLevel(what, needs, cluster):
                "\(what) needs every member at entry level \(needs), but the cluster is at level \(cluster) "
                    + "(`clusterctl status` lists each member's level): finish upgrading every node first"
            }
        }
    }

    /// Entries rejected so far, and the most recent of them.
    struct Rejections: Sendable {
        var count: UInt64 = 0
        var recent = Deque<(index: UInt64, reason: Rejection)>()
    }

    /// Rejected entries kept for inspection, at most.
    static let recentRejectionsMax = 100
    private let rejections = Mutex(Rejections())

    /// The entries rejected so far.
    var rejected: Rejections { rejections.withLock { $0 } }

    /// The verdict on an entry before it is proposed: nil when this version can apply it.
    /// The leader checks every proposal, its own and forwarded ones, so a bad entry never
    /// reaches the log through it.
    static func check(_ data: [UInt8]) -> Rejection? {
        guard let first = data.first else { return .malformed("empty entry") }
        guard let tag = Tag(rawValue: first) else { return .newerVersion("entry kind \(first)") }
        switch tag {
        case .policy: if case let .failure(rejection) = decodePolicy(in: data) { return rejection }
        case .quotaMembership: if case let .failure(rejection) = decodeMembership(in: data) { return rejection }
        case .quotaReassignment: return WindowUpdateCodec.decode(Array(data.dropFirst())) == nil ? .malformed("quota reassignment") : nil
        case .canary: return canaryNonce(in: data) == nil ? .malformed("canary") : nil
        case .memberIncarnation: return decodeIncarnation(in: data) == nil ? .malformed("member incarnation") : nil
        case .quotaAllocation: return decodeAllocation(in: data) == nil ? .malformed("quota allocation") : nil
        case .memberLevel: return decodeLevel(in: data) == nil ? .malformed("member level") : nil
        }
        return nil
    }

    /// `check`, and the cluster level: what some member cannot apply yet is refused too.
    static func check(_ data: [UInt8], clusterLevel: UInt16) -> Rejection? {
        if let rejection = check(data) { return rejection }
        guard let tag = data.first.flatMap(Tag.init(rawValue:)), level(of: tag) > clusterLevel else { return nil }
        return .aboveClusterLevel("entry kind \(tag.rawValue) (\(tag))", needs: level(of: tag), cluster: clusterLevel)
    }

    func rejection(of data: [UInt8]) -> String? { Self.check(data, clusterLevel: clusterLevel)?.description }

    /// A read that waits for this index (a consistent read after a new leader's no-op)
    /// must not wait for the next policy entry.
    func appliedNothing(at index: UInt64) { policy.noteApplied(index) }

    func apply(_ data: [UInt8], at index: UInt64) {
        defer { policy.noteApplied(index) }
        guard let tag = data.first.flatMap(Tag.init(rawValue:)) else {
            return reject(index, data.first.map { .newerVersion("entry kind \($0)") } ?? .malformed("empty entry"))
        }
        switch tag {
        case .policy:
            switch Self.decodePolicy(in: data) {
            case let .success((time, entry)): policy.apply(entry, time: time, at: index)
            case let .failure(rejection): reject(index, rejection)
            }
        case .quotaMembership:
            switch Self.decodeMembership(in: data) {
            case let .success((from, voters)):
                let updated = schedule.withLock { s in
                    s.append(effectiveFrom: from, voters: voters)
                    return s
                }
                onQuotaSchedule(updated)
            case let .failure(rejection): reject(index, rejection)
            }
        case .quotaReassignment:
            guard let updates = WindowUpdateCodec.decode(Array(data.dropFirst())) else { return reject(index, .malformed("quota reassignment")) }
            onQuotaReassignment(updates)
        case .canary:
            guard let nonce = Self.canaryNonce(in: data) else { return reject(index, .malformed("canary")) }
            applyCanary(nonce, at: index)
        case .memberIncarnation:
            guard let (node, incarnation) = Self.decodeIncarnation(in: data) else { return reject(index, .malformed("member incarnation")) }
            incarnations.withLock { $0[node] = incarnation }
        case .quotaAllocation:
            guard let (time, requests) = Self.decodeAllocation(in: data) else { return reject(index, .malformed("quota allocation")) }
            applyAllocation(requests, time: time)
        case .memberLevel:
            guard let (node, level) = Self.decodeLevel(in: data) else { return reject(index, .malformed("member level")) }
            levels.withLock { $0[node] = level }
        }
    }

    private static func decodeAllocation(in data: [UInt8]) -> (Int64, [QuotaPool.Request])? {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let time = reader.readUInt64(), let requests = QuotaPool.decodeRequests(&reader) else { return nil }
        return (Int64(bitPattern: time), requests)
    }

    /// Decides the requests against the caps of the policy applied so far, then tells the
    /// quota service what changed.
    private func applyAllocation(_ requests: [QuotaPool.Request], time: Int64) {
        let policy = policy.current
        let schedule = schedule.withLock { $0 }
        // Only windows the schedule pools: a window split over voters has its whole cap in
        // base shares already.
        let caps = { (key: WindowKey) in
            schedule.voters(at: key.start) == [QuotaLedger.poolMember] ? Self.caps(of: key, in: policy) : nil
        }
        // Every window asked about, changed or not: a requester that got nothing learns what
        // the others hold, so it stops asking a pool that is out and turns to its peers.
        var asked: [WindowKey] = []
        for request in requests where !asked.contains(request.key) { asked.append(request.key) }
        let updates = pool.withLock { pool in
            _ = pool.apply(requests, time: time, caps: caps)
            return asked.compactMap { key in caps(key).flatMap { pool.update(for: key, caps: $0) } }
        }
        if !updates.isEmpty { onQuotaAllocation(updates) }
    }

    /// The caps of `key`'s quota in force in `policy`, or nil when it is revoked, gone or
    /// has another period now.
    static func caps(of key: WindowKey, in policy: PolicyState) -> Caps? {
        guard let lane = QuotaLane(rawValue: key.quota.lane.rawValue),
              let revision = policy.activeQuota(lane: lane, subject: key.quota.subject, name: key.quota.name),
              revision.period?.rawValue == key.period.rawValue
        else { return nil }
        return Caps(
            requests: revision.maxRequests.map { max(0, $0) }, tokens: revision.maxTokens.map { max(0, $0) },
            microUSD: revision.maxMicroUSD.map { max(0, $0) })
    }

    /// Every pooled window's allocations, for the quota service after a restore.
    func poolUpdates() -> [WindowUpdate] {
        let policy = policy.current
        return pool.withLock { pool in
            pool.windows.keys.compactMap { key in Self.caps(of: key, in: policy).flatMap { pool.update(for: key, caps: $0) } }
        }
    }

    private func reject(_ index: UInt64, _ reason: Rejection) {
        rejections.withLock { r in
            r.count += 1
            r.recent.append((index, reason))
            if r.recent.count > Self.recentRejectionsMax { r.recent.removeFirst() }
        }
        onRejection(index, reason)
    }

    private static func decodePolicy(in data: [UInt8]) -> Result<(Int64, PolicyEntry), Rejection> {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let time = reader.readUInt64(), data.count > 9 else { return .failure(.malformed("policy entry")) }
        guard data[9] == PolicyCodec.version else {
            return .failure(data[9] > PolicyCodec.version ? .newerVersion("policy encoding \(data[9])") : .malformed("policy entry"))
        }
        guard let entry = PolicyCodec.decodeEntry(data.dropFirst(9)) else { return .failure(.malformed("policy entry")) }
        return .success((Int64(bitPattern: time), entry))
    }

    private static func decodeMembership(in data: [UInt8]) -> Result<(Int64, [UInt64]), Rejection> {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let from = reader.readUInt64(), let count = reader.readUInt16(), Int(count) * 8 == reader.remaining else {
            return .failure(.malformed("quota membership"))
        }
        let voters = (0..<count).compactMap { _ in reader.readUInt64() }
        guard !voters.contains(0), Set(voters).count == voters.count else { return .failure(.malformed("quota membership")) }
        return .success((Int64(bitPattern: from), voters))
    }

    private static func canaryNonce(in data: [UInt8]) -> UInt64? {
        var reader = ByteReader(Array(data.dropFirst()))
        guard let nonce = reader.readUInt64(), reader.isAtEnd else { return nil }
        return nonce
    }

    private func applyCanary(_ nonce: UInt64, at index: UInt64) {
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

    /// Count, digest and last index of the canaries applied.
    var canarySummary: (count: UInt64, digest: [UInt8], lastIndex: UInt64) {
        canaries.withLock { ($0.count, $0.digest, $0.lastIndex) }
    }

    /// The nonce of the canary at `index`, if it is among the recent ones.
    func canary(at index: UInt64) -> UInt64? {
        canaries.withLock { state in state.recent.first { $0.index == index }?.nonce }
    }
}
