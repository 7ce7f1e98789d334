import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A key a policy table files a record's id under, so a filtered or searched page walks
/// only the ids that can match instead of the whole table.
///
/// - `trigram`: three consecutive bytes of a searchable field, lowercased (see
///   `SearchText`). A record contains a needle of three bytes or more only if it is filed
///   under every trigram of the needle.
/// - `field`: an exact value of a filterable field (`organization` = `org:acme`).
/// - `unindexedText`: a record whose search text is longer than
///   `SearchText.indexedBytesMax`; it is a candidate of every text search.
public enum IndexKey: Hashable, Sendable {
    case trigram(UInt32)
    case field(String, String)
    case unindexedText
}

/// Text search over a record's searchable fields: the needle, lowercased and in Unicode
/// normal form C, occurs in one of the fields, lowercased and in form C, compared as UTF-8
/// bytes (so canonically equivalent spellings, é as one scalar or as e and an accent, are
/// the same). The fields are kept folded and joined by NUL, so a match is a byte search in
/// one short array, without allocating.
public enum SearchText {
    /// Separates fields; a needle holding it matches nothing.
    static let separator: UInt8 = 0
    /// The longest search text (folded, all fields) filed under its trigrams. A longer
    /// one (display names may hold 8,000 bytes) would file thousands of keys for one
    /// record; it is filed as `unindexedText` and checked on every text search instead.
    public static let indexedBytesMax = 1_024

    /// The lowercased UTF-8 bytes of `fields`, each ended by the separator.
    static func folded(_ fields: [String?]) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in fields {
            guard let field, !field.isEmpty else { continue }
            bytes.append(contentsOf: fold(field))
            bytes.append(separator)
        }
        return bytes
    }

    /// The lowercased UTF-8 bytes of a needle; nil for no text condition.
    static func needle(_ text: String?) -> [UInt8]? {
        guard let text, !text.isEmpty else { return nil }
        return fold(text)
    }

    /// Lowercased, then in normal form C, as UTF-8.
    static func fold(_ text: String) -> [UInt8] {
        Array(text.lowercased().precomposedStringWithCanonicalMapping.utf8)
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
        // memchr finds each place the first byte occurs, memcmp checks the rest (memmem
        // is a GNU extension that Glibc's module does not show).
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress else { return false }
                let first = Int32(pin[0]), last = hay.count - pin.count
                var start = 0
                while start <= last, let found = memchr(base + start, first, last - start + 1) {
                    let at = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(base + at, pinBase, pin.count) == 0 { return true }
                    start = at + 1
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
    /// Every condition but the text: the keys only narrow the walk (a query whose keys
    /// narrow too little walks every id), so this must check the exact fields too.
    var matches: (Record) -> Bool

    /// A query: `text` is searched in the record's `searchFields`; `fields` are exact
    /// values of its `indexedFields`, used to narrow; `matches` checks every condition
    /// but the text, the fields included.
    public init(text: String? = nil, fields: [(String, String)] = [], where matches: @escaping (Record) -> Bool = { _ in true }) {
        needle = SearchText.needle(text)
        keys = fields.map { IndexKey.field($0.0, $0.1) }
        self.matches = matches
    }

    /// The needle's trigrams: a record that contains it is filed under every one (or is
    /// `unindexedText`).
    var trigramKeys: [IndexKey] { needle.map { SearchText.trigrams($0).map(IndexKey.trigram) } ?? [] }

    /// Whether nothing can match: the needle holds the field separator.
    var matchesNothing: Bool { needle?.contains(SearchText.separator) ?? false }
}

extension PolicyRecord {
    /// By default a record is not searchable and has no indexed fields.
    public var searchFields: [String?] { [] }
    public var indexedFields: [(String, String)] { [] }
}
