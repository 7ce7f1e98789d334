/// The records of one policy table by id. Look-ups are O(1); pages are read in id order.
///
/// Beside the records the table keeps, with every change, the ids in ascending order and
/// one id set per `IndexKey` (the trigrams of the searchable fields and the indexed exact
/// fields; a set, so a write costs a hash per key, not a shift of a long array). A page
/// takes the smallest set among the keys its query needs, sorts it and walks it from its
/// cursor, checking each candidate in full.
///
/// A key filed under by more than `keyIDsMax` ids is *saturated*: its set is dropped and
/// never kept again (a common trigram or `status=active` would hold every id, and every
/// write after a reader took a copy of the state would copy it). A query none of whose
/// keys narrows walks every id in order, checking each; such keys match densely, so the
/// page fills soon.
public struct RecordTable<Record: PolicyRecord>: Equatable, Sendable {
    /// The records by id.
    public private(set) var byID: [String: Record] = [:]
    /// The ids in ascending order: a page starts at its cursor by binary search and stops
    /// once it is full, instead of sorting every id per request.
    private var sortedIDs: [String] = []
    /// The folded search text of `sortedIDs[i]` at `i` (shared with `searchText`): a needle
    /// too short for trigrams is checked along this array, without hashing an id per record.
    private var sortedText: [[UInt8]] = []
    /// For each key that is not saturated, the ids filed under it.
    private var postings: [IndexKey: Set<String>] = [:]
    /// Keys once filed under by more than `keyIDsMax` ids: they no longer narrow a query.
    private var saturated: Set<IndexKey> = []
    /// `IndexLimits.candidatesSortedMax`; tests lower it on a new table to take every path.
    var keyIDsMax = IndexLimits.candidatesSortedMax
    /// Each searchable record's folded search text (`SearchText.folded`).
    private var searchText: [String: [UInt8]] = [:]

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
        let old = byID[record.id]
        if let old {
            record.created = old.created
        } else {
            record.created = stamp
        }
        record.updated = stamp
        byID[record.id] = record
        let filing = Self.filing(of: record)
        searchText[record.id] = filing.text.isEmpty ? nil : filing.text
        if old == nil {
            let at = sortedIDs.firstIndex(notBelow: record.id)
            sortedIDs.insert(record.id, at: at)
            sortedText.insert(filing.text, at: at)
        } else if let at = position(of: record.id) {
            sortedText[at] = filing.text
        }
        reindex(record.id, from: old.map { Self.filing(of: $0).keys } ?? [], to: filing.keys)
    }

    /// Replaces the whole table with `records`, stored exactly as given (a snapshot's).
    mutating func restore(_ records: [Record]) {
        byID = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        sortedIDs = byID.keys.sorted()
        sortedText = []
        sortedText.reserveCapacity(sortedIDs.count)
        postings = [:]
        saturated = []
        searchText = [:]
        // Ids in ascending order, so every list is built sorted.
        for id in sortedIDs {
            guard let record = byID[id] else { continue }
            let filing = Self.filing(of: record)
            if !filing.text.isEmpty { searchText[id] = filing.text }
            sortedText.append(filing.text)
            for key in filing.keys where !saturated.contains(key) {
                postings[key, default: []].insert(id)
                saturateIfFull(key)
            }
        }
    }

    mutating func remove(_ id: String) {
        guard let old = byID.removeValue(forKey: id) else { return }
        if let at = position(of: id) {
            sortedIDs.remove(at: at)
            sortedText.remove(at: at)
        }
        searchText[id] = nil
        reindex(id, from: Self.filing(of: old).keys, to: [])
    }

    /// The records after the cursor that `matches` accepts, in id order, at most `limit`.
    public func page(_ request: PageRequest, where matches: @escaping (Record) -> Bool) throws(PolicyError) -> Page<Record> {
        try page(request, TableQuery(where: matches))
    }

    /// The records after the cursor that `query` accepts, in id order, at most `limit`.
    public func page(_ request: PageRequest, _ query: TableQuery<Record>) throws(PolicyError) -> Page<Record> {
        let after = try request.cursor.map { cursor throws(PolicyError) in try PageCursor.decodeText(cursor) }
        if query.matchesNothing { return Page(items: [], nextCursor: nil) }
        let narrowed = candidates(query)
        let walksEveryID = narrowed == nil
        let candidates = narrowed ?? sortedIDs
        var position = after.map { candidates.firstIndex(above: $0) } ?? 0
        var items: [Record] = []
        while position < candidates.count {
            defer { position += 1 }
            let id = candidates[position]
            if let needle = query.needle {
                let text = walksEveryID ? sortedText[position] : searchText[id] ?? []
                guard SearchText.contains(text, needle) else { continue }
            }
            guard let record = byID[id], query.matches(record) else { continue }
            if items.count == request.limit {
                return Page(items: items, nextCursor: PageCursor.encode(text: items[items.count - 1].id))
            }
            items.append(record)
        }
        return Page(items: items, nextCursor: nil)
    }

    /// Where `id` is in `sortedIDs`. Binary search finds it unless the table holds ids of
    /// mixed Unicode normal forms (only data from before new ids had to be in form C), which
    /// Swift does not order consistently; then a linear search does.
    private func position(of id: String) -> Int? {
        let at = sortedIDs.firstIndex(notBelow: id)
        if at < sortedIDs.count && sortedIDs[at] == id { return at }
        return sortedIDs.firstIndex(of: id)
    }

    /// How many ids are filed under `key` (for tests); nil once it is saturated.
    func postingCount(_ key: IndexKey) -> Int? { saturated.contains(key) ? nil : postings[key]?.count ?? 0 }

    /// The ids that may match `query`, ascending: the smallest set among its exact keys
    /// and its needle's trigrams (the latter with the `unindexedText` records), sorted;
    /// nil when no key narrows (every id is walked, in `sortedIDs`).
    private func candidates(_ query: TableQuery<Record>) -> [String]? {
        var smallest: [Set<String>]?  // one set, or a trigram set and the long texts
        var size = Int.max
        if let set = smallestSet(query.keys) { (smallest, size) = ([set], set.count) }
        if let set = smallestSet(query.trigramKeys), !saturated.contains(.unindexedText) {
            let long = postings[.unindexedText] ?? []
            if set.count + long.count < size { (smallest, size) = ([set, long], set.count + long.count) }
        }
        return smallest.map { $0.flatMap { $0 }.sorted() }
    }

    /// The smallest set among the keys that are not saturated (empty when one is missing:
    /// nothing is filed under all of them); nil when none narrows.
    private func smallestSet(_ keys: [IndexKey]) -> Set<String>? {
        var smallest: Set<String>?
        for key in keys where !saturated.contains(key) {
            guard let set = postings[key] else { return [] }
            if set.count < smallest?.count ?? Int.max { smallest = set }
        }
        return smallest
    }

    /// Drops the set of `key` for good once it holds more than `keyIDsMax` ids.
    private mutating func saturateIfFull(_ key: IndexKey) {
        guard let count = postings[key]?.count, count > keyIDsMax else { return }
        postings[key] = nil
        saturated.insert(key)
    }

    /// The keys `record` is filed under, and its folded search text.
    private static func filing(of record: Record) -> (keys: Set<IndexKey>, text: [UInt8]) {
        var keys = Set(record.indexedFields.map { IndexKey.field($0.0, $0.1) })
        let text = SearchText.folded(record.searchFields)
        if text.count > SearchText.indexedBytesMax {
            keys.insert(.unindexedText)
        } else {
            for gram in SearchText.trigrams(text) { keys.insert(.trigram(gram)) }
        }
        return (keys, text)
    }

    /// Moves `id` from the lists of `old` keys it no longer has to those of `new` ones.
    private mutating func reindex(_ id: String, from old: Set<IndexKey>, to new: Set<IndexKey>) {
        for key in old.subtracting(new) where !saturated.contains(key) {
            postings[key]?.remove(id)
            if postings[key]?.isEmpty == true { postings[key] = nil }
        }
        for key in new.subtracting(old) where !saturated.contains(key) {
            postings[key, default: []].insert(id)
            saturateIfFull(key)
        }
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

/// Limits of the table indexes.
public enum IndexLimits {
    /// The most ids a table keeps filed under one key, so the most candidates a page
    /// sorts (about a millisecond here); a key past it is saturated and no longer narrows
    /// (`RecordTable`).
    public static let candidatesSortedMax = 8_192
}

extension Array where Element: Comparable {
    /// The position of the first element ≥ `value` in this ascending array.
    func firstIndex(notBelow value: Element) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The position of the first element > `value` in this ascending array.
    func firstIndex(above value: Element) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
