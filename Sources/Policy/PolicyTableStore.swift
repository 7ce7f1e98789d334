/// The records of one policy table by id. Look-ups are O(1); pages are read in id order.
public struct RecordTable<Record: PolicyRecord>: Equatable, Sendable {
    /// The records by id.
    public private(set) var byID: [String: Record] = [:]
    /// The ids in ascending order, kept with every change: a page starts at its cursor by
    /// binary search and stops once it is full, instead of sorting every id per request.
    private var sortedIDs: [String] = []

    public init() {}

    public static func == (a: RecordTable, b: RecordTable) -> Bool { a.byID == b.byID }

    /// The record with `id`, if any.
    public subscript(id: String) -> Record? { byID[id] }

    /// How many records the table holds.
    public var count: Int { byID.count }

    /// Every record, in no particular order.
    public var values: Dictionary<String, Record>.Values { byID.values }

    /// Stores `record`, keeping the created stamp of the record it replaces.
    mutating func put(_ record: Record, stamp: AuditStamp) {
        var record = record
        if let old = byID[record.id] {
            record.created = old.created
        } else {
            record.created = stamp
            sortedIDs.insert(record.id, at: firstIndex(notBelow: record.id))
        }
        record.updated = stamp
        byID[record.id] = record
    }

    /// Replaces the whole table with `records`, stored exactly as given (a snapshot's).
    mutating func restore(_ records: [Record]) {
        byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        sortedIDs = byID.keys.sorted()
    }

    mutating func remove(_ id: String) {
        guard byID.removeValue(forKey: id) != nil else { return }
        sortedIDs.remove(at: firstIndex(notBelow: id))
    }

    /// The records after the cursor that `matches` accepts, in id order, at most `limit`.
    public func page(_ request: PageRequest, where matches: (Record) -> Bool) throws(PolicyError) -> Page<Record> {
        let after = try request.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeText(cursor) }
        var position = after.map { firstIndex(above: $0) } ?? 0
        var items: [Record] = []
        while position < sortedIDs.count {
            defer { position += 1 }
            guard let record = byID[sortedIDs[position]], matches(record) else { continue }
            if items.count == request.limit {
                return Page(items: items, nextCursor: PageCursor.encode(text: items[items.count - 1].id))
            }
            items.append(record)
        }
        return Page(items: items, nextCursor: nil)
    }

    /// The position of the first id ≥ `id`.
    private func firstIndex(notBelow id: String) -> Int {
        var low = 0, high = sortedIDs.count
        while low < high {
            let middle = (low + high) / 2
            if sortedIDs[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The position of the first id > `id`.
    private func firstIndex(above id: String) -> Int {
        var low = 0, high = sortedIDs.count
        while low < high {
            let middle = (low + high) / 2
            if sortedIDs[middle] <= id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// Which page to read: after `cursor` (from the previous page), at most `limit` items.
public struct PageRequest: Equatable, Sendable {
    /// Items per page unless the caller says otherwise.
    public static let limitDefault = 50
    /// The most items a page may hold.
    public static let limitMax = 500

    public var cursor: String?
    public var limit: Int

    /// A request; throws when `limit` is outside 1...`limitMax`.
    public init(cursor: String? = nil, limit: Int = PageRequest.limitDefault) throws(PolicyError) {
        guard (1...Self.limitMax).contains(limit) else {
            throw .invalid(field: "limit", message: "must be between 1 and \(Self.limitMax), got \(limit)")
        }
        if let cursor, cursor.isEmpty { throw .invalid(field: "cursor", message: "is empty; omit it for the first page") }
        self.cursor = cursor
        self.limit = limit
    }
}

/// One page of a query's answer; `nextCursor` is nil on the last page.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?
}

/// Opaque cursors: `t.` or `n.` then the hex of the last item's sort key (an id or a number).
enum PageCursor {
    static func encode(text: String) -> String { "t." + hex(Array(text.utf8)) }
    static func encode(number: Int) -> String { "n." + String(number) }

    static func decodeText(_ cursor: String) throws(PolicyError) -> String {
        guard cursor.hasPrefix("t."), let bytes = unhex(cursor.dropFirst(2)) else { throw bad(cursor) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeNumber(_ cursor: String) throws(PolicyError) -> Int {
        guard cursor.hasPrefix("n."), let number = Int(cursor.dropFirst(2)), number >= 0 else { throw bad(cursor) }
        return number
    }

    private static func bad(_ cursor: String) -> PolicyError {
        .invalid(field: "cursor", message: "'\(cursor.prefix(64))' is not a cursor of this list; pass the next_cursor of the previous page")
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
        return text
    }

    private static func unhex(_ text: Substring) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0, chars.count <= 2048 else { return nil }
        var bytes: [UInt8] = []
        var i = 0
        while i < chars.count {
            guard let high = nibble(chars[i]), let low = nibble(chars[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
