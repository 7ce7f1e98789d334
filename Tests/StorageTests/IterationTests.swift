import Testing
@testable import Storage

private let cf = ColumnFamily("usage_events")

@Suite struct IterationTests {
    /// Big-endian keys sort numerically, the layout Raft's log and time-ordered events use.
    private func key(_ n: UInt32) -> [UInt8] { withUnsafeBytes(of: n.bigEndian) { Array($0) } }

    @Test func boundedIterationIsOrderedAndHalfOpen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [cf])
        var generator = SystemRandomNumberGenerator()
        let numbers = (0..<500).map { UInt32($0 * 3) }.shuffled(using: &generator)
        for n in numbers { try db.put(cf, key(n), key(n)) }

        let all = try db.scan(cf)
        #expect(all.map(\.key) == (0..<500).map { key(UInt32($0 * 3)) })

        let range = KeyRange(lower: key(30), upper: key(60))
        #expect(try db.scan(cf, in: range).map(\.key) == stride(from: 30, to: 60, by: 3).map { key(UInt32($0)) })
        #expect(try db.scan(cf, in: range, reverse: true).map(\.key)
            == stride(from: 57, through: 30, by: -3).map { key(UInt32($0)) })
        #expect(try db.scan(cf, in: KeyRange(lower: key(31), upper: key(33))).isEmpty)
        #expect(try db.scan(cf, in: KeyRange(lower: key(1494)), limit: 10).map(\.key) == [key(1494), key(1497)])
        #expect(try db.scan(cf, reverse: true, limit: 2).map(\.key) == [key(1497), key(1494)])
        #expect(try db.scan(cf, limit: 0).isEmpty)
    }

    @Test func prefixScanStopsAtThePrefixEnd() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [cf])
        for k in ["user:a", "user:b", "user;", "usea", "app:x", "user"] { try db.put(cf, k.bytes, []) }
        try db.put(cf, [0x75, 0xFF], [])
        try db.put(cf, [0x75, 0xFF, 0xFF], [])
        try db.put(cf, [0x76], [])

        #expect(try db.scan(cf, in: .prefix("user:".bytes)).map { $0.key.text } == ["user:a", "user:b"])
        #expect(try db.scan(cf, in: .prefix("user".bytes)).map { $0.key.text } == ["user", "user:a", "user:b", "user;"])
        // A prefix ending in 0xFF carries over to the next byte.
        #expect(try db.scan(cf, in: .prefix([0x75, 0xFF])).map(\.key) == [[0x75, 0xFF], [0x75, 0xFF, 0xFF]])
        #expect(try db.scan(cf, in: .prefix([])).count == 9)
    }

    @Test func keyRangeSuccessorAndContains() {
        #expect(KeyRange.successor(ofPrefix: [1, 2]) == [1, 3])
        #expect(KeyRange.successor(ofPrefix: [1, 0xFF]) == [2])
        #expect(KeyRange.successor(ofPrefix: [0xFF, 0xFF]) == nil)
        let range = KeyRange.prefix([5])
        #expect(range.contains([5]) && range.contains([5, 0xFF, 0xFF]))
        #expect(!range.contains([4, 0xFF]) && !range.contains([6]))
    }

    @Test func earlyStopLeavesTheDatabaseUsable() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [cf])
        for i in UInt32(0)..<50 { try db.put(cf, key(i), []) }
        var seen = 0
        try db.forEach(cf) { _, _ in
            seen += 1
            return seen < 5
        }
        #expect(seen == 5)
        try db.put(cf, key(99), [1])
        #expect(try db.get(cf, key(99)) == [1])
    }
}
