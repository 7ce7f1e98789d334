/// The positions of an append-only revision list filed by exact values (lane, scope,
/// subject) and by folded name, so a filtered page of revisions, newest first, walks only
/// the positions that can match. Positions are appended in order, so every list ascends.
struct RevisionIndex: Equatable, Sendable {
    struct Key: Hashable, Sendable {
        enum Kind: Hashable, Sendable { case lane, scope, subject }
        var kind: Kind
        var value: String
    }

    /// A name search gathers the lists of every matching name only up to this many
    /// positions (sorting them costs about a millisecond); a name matching more revisions
    /// is dense enough that the newest-first walk fills a page soon.
    static let nameUnionPositionsMax = 8_192

    private var positions: [Key: [Int]] = [:]
    /// Positions by folded name (`SearchText.fold`), keyed by its bytes: two names Swift
    /// deems equal but spelled apart stay apart, as the per-revision check sees them.
    private var byName: [[UInt8]: [Int]] = [:]

    mutating func file(_ position: Int, under keys: [Key], name: String? = nil) {
        for key in keys { positions[key, default: []].append(position) }
        if let name { byName[SearchText.fold(name), default: []].append(position) }
    }

    /// The positions that may match, ascending: the shortest list among the exact `keys`,
    /// or the union of the lists of every name containing `nameNeedle` when that is shorter
    /// and small; nil when nothing narrows the walk (every position may match).
    func candidates(_ keys: [Key], nameContaining nameNeedle: [UInt8]?) -> [Int]? {
        var shortest: [Int]?
        for key in keys {
            let list = positions[key] ?? []
            if list.count < shortest?.count ?? Int.max { shortest = list }
        }
        guard let nameNeedle else { return shortest }
        var lists: [[Int]] = []
        var total = 0
        for (name, list) in byName where SearchText.contains(name, nameNeedle) {
            lists.append(list)
            total += list.count
            if total > Self.nameUnionPositionsMax { return shortest }
        }
        guard total < shortest?.count ?? Int.max else { return shortest }
        return lists.count == 1 ? lists[0] : lists.flatMap { $0 }.sorted()
    }
}
