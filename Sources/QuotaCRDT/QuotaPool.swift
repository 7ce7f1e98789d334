import BinaryCoding

/// The pooled part of the caps (docs/quotas.md, "Pooled windows"). A window split over
/// `[QuotaLedger.poolMember]` gives no node a base share: its whole cap starts here, and
/// nodes draw allocations from it through the Raft log. Every node applies the same
/// entries in the same order, so every node holds the same pool and each allocation is
/// decided once, against the cap the applied policy has at that entry: the allocations
/// of a window never add up to more than its cap.
///
/// What a node holds is never taken back: a node that goes away keeps its allocations,
/// counted as used, so it strands at most what it held (a few estimates, see
/// `QuotaLedger.allocation`), never its share of the cap.
///
/// Pure: time is the leader's clock carried in each entry.
public struct QuotaPool: Equatable, Sendable {
    /// One node's request for rights in one window.
    public struct Request: Equatable, Sendable {
        public var key: WindowKey
        public var receiver: UInt64
        public var amount: Usage

        public init(key: WindowKey, receiver: UInt64, amount: Usage) {
            self.key = key
            self.receiver = receiver
            self.amount = amount
        }
    }

    /// What a window has handed out, by receiver, and in all.
    public struct Window: Equatable, Sendable {
        public private(set) var allocated: [UInt64: Usage] = [:]
        public private(set) var total = Usage.zero

        mutating func add(_ amount: Usage, to receiver: UInt64) {
            allocated[receiver, default: .zero] += amount
            total += amount
        }
    }

    public private(set) var windows: [WindowKey: Window] = [:]
    /// The log's clock (ms): the leader's stamps, bounded by the windows requested (see
    /// `apply`). Only rises.
    public private(set) var clock: Int64 = .min
    private var sweptAt: Int64 = .min

    /// Windows held at most; a request for another one allocates nothing.
    public static let windowsMax = 1_000_000
    /// Receivers per window at most (the escrow counter's slot bound).
    public static let receiversMax = EscrowCounter.slotsMax
    /// How long after its end (by the log's clock) a window is dropped; a request for a
    /// window ended longer ago allocates nothing, so a dropped window is never revived with
    /// its whole cap.
    public static let graceMilliseconds: Int64 = 120_000
    /// Requests in one entry at most.
    public static let requestsPerEntryMax = 4_096
    /// How often (by the log's clock) ended windows are swept out.
    static let sweepIntervalMilliseconds: Int64 = 1_000

    public init() {}

    /// Applies one entry's requests, stamped by the leader at `time`. `caps` gives a
    /// window's caps as the applied policy has them at this entry, or nil when its quota
    /// is gone (nothing is allocated then). Each request gets what it asks for in every
    /// capped unit, or what is left when less is; uncapped units need no rights. Returns
    /// the windows whose allocations changed, in request order.
    public mutating func apply(_ requests: [Request], time: Int64, caps: (WindowKey) -> Caps?) -> [WindowKey] {
        // The requesters ask for windows current on their clocks, so the earliest end among
        // them is no earlier than the earliest of their clocks: the log's clock follows
        // the leader's stamp only that far. A leader whose clock jumped ahead (an NTP step,
        // a resumed VM) cannot sweep windows the nodes still serve, unless their clocks
        // jumped too.
        if let bound = requests.compactMap({ $0.key.period.window(containing: $0.key.start).end }).min() {
            advance(to: min(time, bound))
        }
        var changed: [WindowKey] = []
        for request in requests {
            guard allocate(request, caps: caps) else { continue }
            if !changed.contains(request.key) { changed.append(request.key) }
        }
        return changed
    }

    /// What is left to allocate in `key` under `caps` (zero in uncapped units).
    public func remaining(in key: WindowKey, caps: Caps) -> Usage {
        (caps.asUsage - (windows[key]?.total ?? .zero)).clampedAtZero
    }

    /// True when `key` ended more than `graceMilliseconds` before the log's clock.
    public func isOver(_ key: WindowKey) -> Bool {
        guard let end = key.period.window(containing: key.start).end else { return false }
        return end.saturatingAdd(Self.graceMilliseconds) <= clock
    }

    private mutating func allocate(_ request: Request, caps: (WindowKey) -> Caps?) -> Bool {
        let key = request.key
        guard request.receiver != 0, request.receiver != QuotaLedger.poolMember, !isOver(key), let caps = caps(key) else { return false }
        let window = windows[key]
        guard window != nil || windows.count < Self.windowsMax else { return false }
        guard window?.allocated[request.receiver] != nil || (window?.allocated.count ?? 0) < Self.receiversMax else { return false }
        let left = remaining(in: key, caps: caps)
        func give(_ asked: Int64, _ available: Int64, capped: Bool) -> Int64 { capped ? min(max(0, asked), available) : 0 }
        let amount = Usage(
            requests: give(request.amount.requests, left.requests, capped: caps.requests != nil),
            tokens: give(request.amount.tokens, left.tokens, capped: caps.tokens != nil),
            microUSD: give(request.amount.microUSD, left.microUSD, capped: caps.microUSD != nil))
        guard amount != .zero else { return false }
        windows[key, default: Window()].add(amount, to: request.receiver)
        return true
    }

    private mutating func advance(to time: Int64) {
        clock = max(clock, time)
        guard clock.saturatingSubtract(sweptAt) >= Self.sweepIntervalMilliseconds else { return }
        sweptAt = clock
        for key in windows.keys where isOver(key) { windows[key] = nil }
    }

    /// `key`'s allocations as a window update (the counter's `granted[poolMember]`), to
    /// merge into a node's ledger.
    public func update(for key: WindowKey, caps: Caps) -> WindowUpdate? {
        guard let window = windows[key] else { return nil }
        var counter = EscrowCounter()
        for (receiver, amount) in window.allocated { counter.grant(amount, from: QuotaLedger.poolMember, to: receiver) }
        return WindowUpdate(
            key: key, members: [QuotaLedger.poolMember], end: key.period.window(containing: key.start).end, caps: caps, counter: counter)
    }
}

// MARK: Encoding

extension QuotaPool {
    static let encodingVersion: UInt8 = 1

    /// The requests of one entry as bytes.
    public static func encode(_ requests: [Request]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(requests.count))
        for request in requests {
            WindowUpdateCodec.appendKey(request.key, to: &bytes)
            bytes.appendBigEndian(request.receiver)
            WindowUpdateCodec.appendUsage(request.amount, to: &bytes)
        }
        return bytes
    }

    /// Reads what `encode(_: [Request])` wrote, or nil when malformed: too many requests,
    /// a bad key, receiver 0 or the pool itself, a negative amount, bytes left over.
    public static func decodeRequests(_ reader: inout ByteReader) -> [Request]? {
        guard let count = reader.readUInt32(), count <= requestsPerEntryMax, Int(count) <= reader.remaining / 40 else { return nil }
        var requests: [Request] = []
        for _ in 0..<count {
            guard let key = WindowUpdateCodec.readKey(from: &reader), let receiver = reader.readUInt64(),
                  receiver != 0, receiver != QuotaLedger.poolMember, let amount = WindowUpdateCodec.readUsage(from: &reader)
            else { return nil }
            requests.append(Request(key: key, receiver: receiver, amount: amount))
        }
        return reader.isAtEnd ? requests : nil
    }

    /// The whole pool as bytes (a snapshot's part). Windows and receivers in a fixed
    /// order, so equal pools encode equally.
    public func encode() -> [UInt8] {
        var bytes: [UInt8] = [Self.encodingVersion]
        bytes.appendBigEndian(clock)
        bytes.appendBigEndian(sweptAt)
        bytes.appendBigEndian(UInt32(windows.count))
        let keyed = windows.map { (bytes: WindowUpdateCodec.encode($0.key), window: $0.value) }
        for (key, window) in keyed.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
            bytes += key
            bytes.appendBigEndian(UInt16(window.allocated.count))
            for (receiver, amount) in window.allocated.sorted(by: { $0.key < $1.key }) {
                bytes.appendBigEndian(receiver)
                WindowUpdateCodec.appendUsage(amount, to: &bytes)
            }
        }
        return bytes
    }

    /// Reads what `encode()` wrote, or nil when malformed.
    public static func decode(_ reader: inout ByteReader) -> QuotaPool? {
        guard reader.readByte() == encodingVersion, let clock = reader.readUInt64(), let swept = reader.readUInt64(),
              let count = reader.readUInt32(), count <= windowsMax, Int(count) <= reader.remaining / 14
        else { return nil }
        var pool = QuotaPool()
        pool.clock = Int64(bitPattern: clock)
        pool.sweptAt = Int64(bitPattern: swept)
        for _ in 0..<count {
            guard let key = WindowUpdateCodec.readKey(from: &reader), pool.windows[key] == nil, let receivers = reader.readUInt16(),
                  Int(receivers) <= receiversMax, Int(receivers) * 32 <= reader.remaining
            else { return nil }
            var window = Window()
            for _ in 0..<receivers {
                guard let receiver = reader.readUInt64(), receiver != 0, receiver != QuotaLedger.poolMember,
                      window.allocated[receiver] == nil, let amount = WindowUpdateCodec.readUsage(from: &reader)
                else { return nil }
                window.add(amount, to: receiver)
            }
            pool.windows[key] = window
        }
        return pool
    }
}
