/// Field checks shared by the commands. Each throws `PolicyError.invalid` naming the field.
public enum Check {
    /// The longest id accepted, in UTF-8 bytes: ids travel in quota windows, gossip and
    /// storage keys, whose codecs count bytes (a family emoji is one character and 25 bytes).
    public static let idBytesMax = 200
    /// The longest free-text field accepted (names, purposes, reasons, notes), in UTF-8 bytes.
    public static let textBytesMax = 8_000
    /// The longest name accepted (quota, profile and setting names), in UTF-8 bytes.
    public static let nameBytesMax = 128
    /// The most groups, scopes, headers, fallbacks, detectors or patterns in one record.
    public static let listLengthMax = 64

    /// `value` starts with one of `prefixes`, has something after it, and is a plain id.
    static func id(_ value: String, field: String, prefixes: [String]) throws(PolicyError) {
        try plainID(value, field: field)
        guard let prefix = prefixes.first(where: { value.hasPrefix($0) }), value.count > prefix.count else {
            let list = prefixes.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalid(field: field, message: "'\(value.prefix(80))' must start with \(list) followed by a name (example: \(prefixes[0])alice)")
        }
    }

    /// Non-empty, at most `idBytesMax` UTF-8 bytes, no spaces or control characters. (New
    /// ids must also be in normal form C: `PolicyCommand.newIDsNotInNormalFormC`, checked
    /// where a change is proposed, not here.)
    static func plainID(_ value: String, field: String) throws(PolicyError) {
        guard !value.isEmpty else { throw .invalid(field: field, message: "is required") }
        guard value.utf8.count <= idBytesMax else {
            throw .invalid(field: field, message: "is \(value.utf8.count) bytes long (UTF-8); at most \(idBytesMax) are allowed (idBytesMax)")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalid(field: field, message: "'\(value.prefix(80))' contains spaces or control characters")
        }
    }

    /// Optional free text: at most `textBytesMax` UTF-8 bytes, no control characters but newlines and tabs.
    static func text(_ value: String?, field: String, required: Bool = false) throws(PolicyError) {
        guard let value, !value.isEmpty else {
            if required { throw .invalid(field: field, message: "is required") }
            return
        }
        guard value.utf8.count <= textBytesMax else {
            throw .invalid(field: field, message: "is \(value.utf8.count) bytes long (UTF-8); at most \(textBytesMax) are allowed (textBytesMax)")
        }
        guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }) else {
            throw .invalid(field: field, message: "contains control characters")
        }
    }

    /// A lower-case slug: letters, digits and dashes, 1 to 64 characters.
    static func slug(_ value: String, field: String) throws(PolicyError) {
        let ok = !value.isEmpty && value.count <= 64
            && value.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard ok else { throw .invalid(field: field, message: "'\(value.prefix(80))' must be 1 to 64 lower-case letters, digits or dashes") }
    }

    /// A name: letters, digits, `_`, `-`, `.`, 1 to 64 characters and at most `nameBytesMax` bytes.
    static func name(_ value: String, field: String) throws(PolicyError) {
        let ok = !value.isEmpty && value.count <= 64 && value.utf8.count <= nameBytesMax
            && value.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }
        guard ok else { throw .invalid(field: field, message: "'\(value.prefix(80))' must be 1 to 64 letters, digits, '_', '-' or '.'") }
    }

    /// An `http://` or `https://` URL with a host.
    static func url(_ value: String, field: String) throws(PolicyError) {
        try plainID(value, field: field)
        let rest: Substring
        if value.hasPrefix("https://") { rest = value.dropFirst(8) } else if value.hasPrefix("http://") { rest = value.dropFirst(7) } else {
            throw .invalid(field: field, message: "'\(value.prefix(80))' must start with http:// or https://")
        }
        guard let host = rest.split(separator: "/", omittingEmptySubsequences: false).first, !host.isEmpty else {
            throw .invalid(field: field, message: "'\(value.prefix(80))' has no host")
        }
    }

    /// At most `listLengthMax` entries.
    static func count<C: Collection>(_ list: C, field: String) throws(PolicyError) {
        guard list.count <= listLengthMax else { throw .invalid(field: field, message: "has \(list.count) entries; at most \(listLengthMax) are allowed") }
    }

    /// No entry twice.
    static func unique(_ list: [String], field: String) throws(PolicyError) {
        var seen = Set<String>()
        for item in list where !seen.insert(item).inserted {
            throw .invalid(field: field, message: "lists '\(item.prefix(80))' twice")
        }
    }

    /// Zero or more.
    static func nonNegative(_ value: Int64?, field: String) throws(PolicyError) {
        if let value, value < 0 { throw .invalid(field: field, message: "must not be negative, got \(value)") }
    }

    /// `reference` is nil or names an existing record.
    static func exists(_ reference: String?, field: String, in ids: (String) -> Bool) throws(PolicyError) {
        if let reference, !ids(reference) { throw .unknownReference(field: field, id: reference) }
    }
}
