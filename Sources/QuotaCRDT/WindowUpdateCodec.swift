import BinaryCoding

/// The binary form of window updates (gossip, grants, durable records) and of window keys
/// (record keys in storage). Big-endian, versioned, and decoded defensively: every count
/// is checked against the bytes left, so a corrupt or hostile message yields nil, never a
/// crash or a huge allocation.
public enum WindowUpdateCodec {
    static let version: UInt8 = 1
    /// Subject and quota name lengths, at most (bytes).
    public static let nameBytesMax = 1_024
    /// The latest window start accepted (the end of year 9999, ms): starts come from peers
    /// and disk, and arithmetic on them must stay far from overflow.
    public static let startMax: Int64 = 253_402_300_799_999

    /// Encodes `updates` as one message.
    public static func encode(_ updates: [WindowUpdate]) -> [UInt8] {
        var bytes: [UInt8] = [version]
        bytes.appendBigEndian(UInt32(updates.count))
        for update in updates { append(update, to: &bytes) }
        return bytes
    }

    /// Decodes a message made by `encode`, or nil when it is malformed.
    public static func decode(_ bytes: [UInt8]) -> [WindowUpdate]? {
        var reader = ByteReader(bytes)
        guard reader.readByte() == version, let count = reader.readUInt32(), Int(count) <= reader.remaining else { return nil }
        var updates: [WindowUpdate] = []
        for _ in 0..<count {
            guard let update = readUpdate(&reader) else { return nil }
            updates.append(update)
        }
        return reader.isAtEnd ? updates : nil
    }

    /// A window key as bytes (a storage key: lane, subject, name, period, start).
    public static func encode(_ key: WindowKey) -> [UInt8] {
        var bytes: [UInt8] = []
        append(key, to: &bytes)
        return bytes
    }

    /// Decodes a key made by `encode(_: WindowKey)`.
    public static func decodeKey(_ bytes: [UInt8]) -> WindowKey? {
        var reader = ByteReader(bytes)
        guard let key = readKey(&reader), reader.isAtEnd else { return nil }
        return key
    }

    /// Appends a window key to `bytes` (the layout of `encode(_: WindowKey)`), for other
    /// codecs that carry keys.
    public static func appendKey(_ key: WindowKey, to bytes: inout [UInt8]) { append(key, to: &bytes) }

    /// Reads a key written by `appendKey`, or nil when malformed (a misaligned start too).
    public static func readKey(from reader: inout ByteReader) -> WindowKey? { readKey(&reader) }

    /// Appends a non-negative amount (three big-endian `Int64`).
    public static func appendUsage(_ usage: Usage, to bytes: inout [UInt8]) { append(usage, to: &bytes) }

    /// Reads an amount written by `appendUsage`, or nil when truncated or negative.
    public static func readUsage(from reader: inout ByteReader) -> Usage? { readUsage(&reader) }

    // MARK: Writing

    private static func append(_ update: WindowUpdate, to bytes: inout [UInt8]) {
        append(update.key, to: &bytes)
        bytes.appendBigEndian(UInt16(update.members.count))
        for member in update.members { bytes.appendBigEndian(member) }
        bytes.append(update.end == nil ? 0 : 1)
        if let end = update.end { bytes.appendBigEndian(end) }
        let caps = [update.caps.requests, update.caps.tokens, update.caps.microUSD]
        bytes.append(caps.enumerated().reduce(UInt8(0)) { mask, cap in cap.element == nil ? mask : mask | 1 << cap.offset })
        for case let cap? in caps { bytes.appendBigEndian(cap) }
        let counter = update.counter
        bytes.appendBigEndian(UInt16(counter.used.count))
        for (member, usage) in counter.used.sorted(by: { $0.key < $1.key }) {
            bytes.appendBigEndian(member)
            append(usage, to: &bytes)
        }
        bytes.appendBigEndian(UInt16(counter.granted.count))
        for (giver, grants) in counter.granted.sorted(by: { $0.key < $1.key }) {
            bytes.appendBigEndian(giver)
            bytes.appendBigEndian(UInt16(grants.count))
            for (receiver, amount) in grants.sorted(by: { $0.key < $1.key }) {
                bytes.appendBigEndian(receiver)
                append(amount, to: &bytes)
            }
        }
    }

    private static func append(_ key: WindowKey, to bytes: inout [UInt8]) {
        bytes.append(UInt8(Lane.allCases.firstIndex(of: key.quota.lane)!))
        appendName(key.quota.subject, to: &bytes)
        appendName(key.quota.name, to: &bytes)
        bytes.append(UInt8(key.period.ordinal))
        bytes.appendBigEndian(key.start)
    }

    private static func appendName(_ name: String, to bytes: inout [UInt8]) {
        let utf8 = Array(name.utf8)
        precondition(utf8.count <= nameBytesMax, "a quota subject or name is at most \(nameBytesMax) bytes")
        bytes.appendBigEndian(UInt16(utf8.count))
        bytes += utf8
    }

    private static func append(_ usage: Usage, to bytes: inout [UInt8]) {
        bytes.appendBigEndian(usage.requests)
        bytes.appendBigEndian(usage.tokens)
        bytes.appendBigEndian(usage.microUSD)
    }

    // MARK: Reading

    private static func readUpdate(_ reader: inout ByteReader) -> WindowUpdate? {
        guard let key = readKey(&reader), let memberCount = reader.readUInt16(), Int(memberCount) <= EscrowCounter.slotsMax,
              Int(memberCount) * 8 <= reader.remaining else { return nil }
        var members: [UInt64] = []
        for _ in 0..<memberCount {
            // Member 0 is no node; a list naming one twice splits a cap wrongly.
            guard let member = reader.readUInt64(), member != 0, !members.contains(member) else { return nil }
            members.append(member)
        }
        guard let hasEnd = reader.readByte(), hasEnd <= 1 else { return nil }
        if hasEnd == 1 { guard readInt64(&reader) != nil else { return nil } }
        // The end is the calendar's, never the sender's: a window ending near Int64.max
        // once overflowed the expiry arithmetic.
        let end = key.period.window(containing: key.start).end
        guard let mask = reader.readByte(), mask < 8 else { return nil }
        var caps: [Int64?] = []
        for bit in 0..<3 {
            if mask & 1 << bit == 0 { caps.append(nil); continue }
            guard let cap = readInt64(&reader), cap >= 0 else { return nil }
            caps.append(cap)
        }
        guard let counter = readCounter(&reader) else { return nil }
        return WindowUpdate(
            key: key, members: members, end: end, caps: Caps(requests: caps[0], tokens: caps[1], microUSD: caps[2]),
            counter: counter)
    }

    private static func readCounter(_ reader: inout ByteReader) -> EscrowCounter? {
        var counter = EscrowCounter()
        guard let usedCount = reader.readUInt16(), Int(usedCount) <= EscrowCounter.slotsMax, Int(usedCount) * 32 <= reader.remaining else { return nil }
        for _ in 0..<usedCount {
            guard let member = reader.readUInt64(), let usage = readUsage(&reader) else { return nil }
            counter.addUsed(usage, by: member)
        }
        guard let giverCount = reader.readUInt16(), Int(giverCount) <= EscrowCounter.slotsMax, Int(giverCount) * 10 <= reader.remaining else { return nil }
        for _ in 0..<giverCount {
            // A giver listed twice could gather more than `slotsMax` receivers, which the
            // counter's own encoding would then fail to decode.
            guard let giver = reader.readUInt64(), counter.granted[giver] == nil, let count = reader.readUInt16(), Int(count) <= EscrowCounter.slotsMax,
                  Int(count) * 32 <= reader.remaining
            else { return nil }
            for _ in 0..<count {
                guard let receiver = reader.readUInt64(), receiver != giver, let amount = readUsage(&reader) else { return nil }
                counter.grant(amount, from: giver, to: receiver)
            }
        }
        return counter
    }

    private static func readKey(_ reader: inout ByteReader) -> WindowKey? {
        guard let laneIndex = reader.readByte(), Int(laneIndex) < Lane.allCases.count,
              let subject = readName(&reader), let name = readName(&reader),
              let periodIndex = reader.readByte(), let period = Period.allCases.first(where: { $0.ordinal == Int(periodIndex) }),
              let start = readInt64(&reader), isWindowStart(start, of: period)
        else { return nil }
        return WindowKey(quota: QuotaID(lane: Lane.allCases[Int(laneIndex)], subject: subject, name: name), period: period, start: start)
    }

    /// Whether `start` begins a window of `period` within the calendar Weir accepts.
    static func isWindowStart(_ start: Int64, of period: Period) -> Bool {
        if period == .infinite { return start == Int64.min }
        return (0...startMax).contains(start) && period.window(containing: start).start == start
    }

    private static func readName(_ reader: inout ByteReader) -> String? {
        guard let length = reader.readUInt16(), Int(length) <= nameBytesMax, let bytes = reader.readBytes(Int(length)) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func readUsage(_ reader: inout ByteReader) -> Usage? {
        guard let requests = readInt64(&reader), let tokens = readInt64(&reader), let micro = readInt64(&reader),
              requests >= 0, tokens >= 0, micro >= 0 else { return nil }
        return Usage(requests: requests, tokens: tokens, microUSD: micro)
    }

    private static func readInt64(_ reader: inout ByteReader) -> Int64? {
        reader.readUInt64().map { Int64(bitPattern: $0) }
    }
}
