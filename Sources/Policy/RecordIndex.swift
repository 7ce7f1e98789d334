/// A key a policy table files a record's id under, so a filtered or searched page walks
/// only the ids that can match instead of the whole table.
///
/// - `trigram`: three consecutive bytes of a searchable field, lowercased (see
///   `SearchText`). A record contains a needle of three bytes or more only if it is filed
///   under every trigram of the needle.
/// - `field`: an exact value of a filterable field (`organization` = `org:acme`).
public enum IndexKey: Hashable, Sendable {
    case trigram(UInt32)
    case field(String, String)
}

/// Text search over a record's searchable fields: the needle, lowercased, occurs in one of
/// the fields, lowercased, compared as UTF-8 bytes. The fields are kept lowercased and
/// joined by NUL, so a match is a byte search in one short array, without allocating.
public enum SearchText {
    /// Separates fields; a needle holding it matches nothing.
    static let separator: UInt8 = 0

    /// The lowercased UTF-8 bytes of `fields`, each ended by the separator.
    static func folded(_ fields: [String?]) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in fields {
            guard let field, !field.isEmpty else { continue }
            bytes.append(contentsOf: field.lowercased().utf8)
            bytes.append(separator)
        }
        return bytes
    }

    /// The lowercased UTF-8 bytes of a needle; nil for no text condition.
    static func needle(_ text: String?) -> [UInt8]? {
        guard let text, !text.isEmpty else { return nil }
        return Array(text.lowercased().utf8)
    }

    /// Every distinct trigram of `text` that lies within one field.
    static func trigrams(_ text: [UInt8]) -> Set<UInt32> {
        var grams = Set<UInt32>()
        guard text.count >= 3 else { return grams }
        for start in 0...(text.count - 3) {
            let (a, b, c) = (text[start], text[start + 1], text[start + 2])
            if a == separator || b == separator || c == separator { continue }
            grams.insert(UInt32(a) << 16 | UInt32(b) << 8 | UInt32(c))
        }
        return grams
    }

    /// Whether `needle` occurs in `haystack` (both already folded).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard needle.count <= haystack.count, !needle.contains(separator) else { return false }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                let first = pin[0]
                var start = 0
                let last = hay.count - pin.count
                while start <= last {
                    if hay[start] == first {
                        var offset = 1
                        while offset < pin.count && hay[start + offset] == pin[offset] { offset += 1 }
                        if offset == pin.count { return true }
                    }
                    start += 1
                }
                return false
            }
        }
    }
}

/// What a page asks of a table beyond its cursor: a text needle, exact-field keys every
/// match is filed under, and the remaining conditions as a predicate over the record.
public struct TableQuery<Record: PolicyRecord> {
    /// Folded needle bytes; nil for no text condition.
    var needle: [UInt8]?
    /// Keys every match is filed under (the exact-field filters).
    var keys: [IndexKey]
    /// The conditions the keys do not decide alone; checked on every candidate.
    var matches: (Record) -> Bool

    /// A query: `text` is searched in the record's `searchFields`; `fields` are exact
    /// values of its `indexedFields`; `matches` checks whatever else (it may repeat them).
    public init(text: String? = nil, fields: [(String, String)] = [], where matches: @escaping (Record) -> Bool = { _ in true }) {
        needle = SearchText.needle(text)
        keys = fields.map { IndexKey.field($0.0, $0.1) }
        self.matches = matches
    }

    /// The keys every match must be filed under: the fields', and the needle's trigrams.
    var requiredKeys: [IndexKey] {
        guard let needle else { return keys }
        return keys + SearchText.trigrams(needle).map(IndexKey.trigram)
    }
}

extension PolicyRecord {
    /// By default a record is not searchable and has no indexed fields.
    public var searchFields: [String?] { [] }
    public var indexedFields: [(String, String)] { [] }
}
