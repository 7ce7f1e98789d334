import BinaryCoding

/// Durability of a member's own slots (DESIGN.md section 4): a crash and restart may
/// over-count usage, but never forget admitted usage nor give the same rights twice.
///
/// A record per window holds the member's usage high-water mark (usage plus open
/// reservations, and some headroom) and every grant it made or is making. With
/// `tracksDurability` on, admission never passes the durable mark, and a grant is sent
/// only after its record is durable (`beginGrant`, write, `completeGrant`). Marks rise in
/// chunks, ahead of use, so admission rarely waits for a write.
extension QuotaLedger {
    /// This member's own slots, to persist: per window, its usage counting open
    /// reservations as used (a high-water mark: after a crash the reservations' outcome is
    /// unknown, so they count in full) and the grants it gave or is giving.
    public func durableSlots() -> [WindowUpdate] {
        liveStates.map { record(of: $0, mark: $0.ownUsed + $0.reserved) }
    }

    /// The records to write now: windows whose durable mark has less than half a chunk of
    /// headroom left, and the windows in `including` (grants in progress). Each record's
    /// mark is never below an earlier one. Confirm with `confirmDurable` once written.
    ///
    /// A chunk is an eighth of the member's rights, and at least four of the latest
    /// estimates; `minimumChunk` raises it further.
    public func recordsToPersist(including: Set<WindowKey> = [], minimumChunk: Usage = .zero) -> [WindowUpdate] {
        liveStates.compactMap { state in
            let inUse = state.ownUsed + state.reserved
            let chunk = state.chunk(minimum: minimumChunk)
            // Only capped units need headroom: admission never checks the others.
            let needsMark = WindowState.exceededUnit(inUse + chunk.half, state.durable, state.caps) != nil
            guard needsMark || including.contains(state.key) else { return nil }
            let mark = needsMark ? (inUse + chunk).joined(with: state.durable) : inUse.joined(with: state.durable)
            return record(of: state, mark: mark)
        }
    }

    /// Raises the durable marks to those of `records`, which are now on disk.
    public mutating func confirmDurable(_ records: [WindowUpdate]) {
        for record in records {
            guard let slot = slots[record.key] else { continue }
            states[slot]!.durable = states[slot]!.durable.joined(with: record.counter.used(by: member))
            states[slot]!.raiseAt = states[slot]!.durable - states[slot]!.chunk(minimum: .zero).half
        }
    }

    /// Loads a record written before a restart: the mark counts as used (the outcome of
    /// what was reserved then is unknown), and the grants as given.
    public mutating func restore(_ record: WindowUpdate) {
        merge(record)
        confirmDurable([record])
    }

    /// True when admitting `estimate` in `key` waits only for a higher durable mark.
    public func awaitsDurability(in key: WindowKey, for estimate: Usage) -> Bool {
        guard tracksDurability, let state = state(key) else { return false }
        return state.exceededUnit(adding: estimate, durability: false) == nil
            && state.exceededUnit(adding: estimate, durability: true) != nil
    }

    private func record(of state: WindowState, mark: Usage) -> WindowUpdate {
        var own = EscrowCounter()
        own.addUsed(mark, by: member)
        var given = state.counter.granted[member] ?? [:]
        for (receiver, amount) in state.granting { given[receiver, default: .zero] += amount }
        for (receiver, amount) in given where amount != .zero { own.grant(amount, from: member, to: receiver) }
        return state.update(with: own)
    }
}

/// Windows in which a member lost its own record (unreadable at start): it may have used
/// or given away any part of its rights there before the restart, so it admits nothing and
/// gives nothing in them until they end. Fail closed: the cap holds, at the cost of this
/// member's share of those windows.
public struct QuotaFence: Equatable, Sendable {
    /// Windows whose record named its key but could not be read.
    public var keys: Set<WindowKey> = []
    /// When a record could not even be attributed to a window: every window that started
    /// before this instant (the start, in milliseconds) is fenced.
    public var startedBefore: Int64?

    public init(keys: Set<WindowKey> = [], startedBefore: Int64? = nil) {
        self.keys = keys
        self.startedBefore = startedBefore
    }

    /// True when `key`'s window is fenced.
    public func covers(_ key: WindowKey) -> Bool {
        if keys.contains(key) { return true }
        guard let startedBefore else { return false }
        return key.start < startedBefore
    }

    public var isEmpty: Bool { keys.isEmpty && startedBefore == nil }
}

extension QuotaLedger {
    /// Fences the windows `fence` covers, those held now and those met later; a window it
    /// no longer covers (a narrowed rebirth fence) is unfenced.
    public mutating func fence(_ fence: QuotaFence) {
        self.fence = fence
        for (key, slot) in slots { states[slot]?.fenced = fence.covers(key) }
    }

    /// True when this member admits nothing in `key` because its record was lost.
    public func isFenced(_ key: WindowKey) -> Bool { fence.covers(key) }
}

extension QuotaFence {
    /// Fenced keys kept at most; past this, the fence widens to every window that started
    /// before the newest fenced one (still fail-closed, and bounded).
    public static let keysMax = 100_000
    private static let format: UInt8 = 1

    /// Adds `other`'s windows to this fence.
    public mutating func widen(with other: QuotaFence) {
        keys.formUnion(other.keys)
        if let before = other.startedBefore { startedBefore = max(startedBefore ?? before, before) }
        if keys.count > Self.keysMax, let newest = keys.map(\.start).max() {
            startedBefore = max(startedBefore ?? newest + 1, newest + 1)
            keys = []
        }
    }

    /// Forgets fenced keys whose windows ended before `now` (they can admit nothing anyway).
    public mutating func dropEnded(now: Int64) {
        keys = keys.filter { $0.period.window(containing: $0.start).end.map { $0 > now } ?? true }
    }

    /// The stored form: format, whether `startedBefore` is set, it, then the keys.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.format, startedBefore == nil ? 0 : 1]
        bytes.appendBigEndian(UInt64(bitPattern: startedBefore ?? 0))
        bytes.appendBigEndian(UInt32(keys.count))
        for key in keys.sorted(by: { $0.description < $1.description }) {
            WindowUpdateCodec.appendKey(key, to: &bytes)
        }
        return bytes
    }

    /// Reads `encoded()`; nil when malformed (the caller then fences everything older).
    public static func decode(_ bytes: [UInt8]) -> QuotaFence? {
        var reader = ByteReader(bytes)
        guard reader.readByte() == format, let flag = reader.readByte(), flag <= 1,
              let before = reader.readUInt64(), let count = reader.readUInt32(), Int(count) <= keysMax else { return nil }
        var fence = QuotaFence(startedBefore: flag == 1 ? Int64(bitPattern: before) : nil)
        for _ in 0..<count {
            guard let key = WindowUpdateCodec.readKey(from: &reader) else { return nil }
            fence.keys.insert(key)
        }
        return reader.isAtEnd ? fence : nil
    }
}
