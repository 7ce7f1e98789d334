/// The positions of an append-only revision list filed by exact values (lane, scope,
/// subject, folded name), so a filtered page of revisions, newest first, walks only the
/// positions that can match. Positions are appended in order, so every list is ascending.
struct RevisionIndex: Equatable, Sendable {
    struct Key: Hashable, Sendable {
        enum Kind: Hashable, Sendable { case lane, scope, subject, name }
        var kind: Kind
        var value: String
    }

    private var positions: [Key: [Int]] = [:]
    /// The distinct folded names, for a name search (`contains`).
    private var names: Set<String> = []

    mutating func file(_ position: Int, under keys: [Key]) {
        for key in keys {
            positions[key, default: []].append(position)
            if key.kind == .name { names.insert(key.value) }
        }
    }

    /// The positions that may match: the shortest list among the exact `keys`, or the
    /// union of the lists of every name containing `nameNeedle` when that is shorter; nil
    /// when nothing narrows the walk (every position may match).
    func candidates(_ keys: [Key], nameContaining nameNeedle: [UInt8]?) -> [Int]? {
        var shortest: [Int]?
        for key in keys {
            let list = positions[key] ?? []
            if list.count < shortest?.count ?? Int.max { shortest = list }
        }
        guard let nameNeedle else { return shortest }
        let lists = names.filter { SearchText.contains(Array($0.utf8), nameNeedle) }
            .map { positions[Key(kind: .name, value: $0)] ?? [] }
        let total = lists.reduce(0) { $0 + $1.count }
        guard total < shortest?.count ?? Int.max else { return shortest }
        return lists.count == 1 ? lists[0] : lists.flatMap { $0 }.sorted()
    }
}
