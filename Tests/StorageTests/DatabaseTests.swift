import Foundation
import Testing
@testable import Storage

private let log = ColumnFamily("raft_log")
private let meta = ColumnFamily("meta")

@Suite struct DatabaseTests {
    @Test func putGetDeleteWithBinaryKeysAndValues() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [log, meta])
        let key: [UInt8] = [0, 0xFF, 0, 7]  // embedded NULs: never a C string
        let value: [UInt8] = [0, 1, 0, 2, 0]
        #expect(try db.get(log, key) == nil)
        try db.put(log, key, value)
        #expect(try db.get(log, key) == value)
        #expect(try db.get(meta, key) == nil, "column families are separate key spaces")
        try db.put(log, [], [])
        #expect(try db.get(log, []) == [], "an empty key and an empty value are legal")
        try db.delete(log, key)
        #expect(try db.get(log, key) == nil)
    }

    @Test func batchAcrossFamiliesIsAllOrNothing() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [log, meta])
        try db.put(meta, "gone".bytes, "x".bytes)

        var good = WriteBatch()
        good.put(log, key: "e1".bytes, value: "one".bytes)
        good.put(meta, key: "hard".bytes, value: "term=1".bytes)
        good.delete(meta, key: "gone".bytes)
        try db.write(good, sync: true)
        #expect(try db.get(log, "e1".bytes) == "one".bytes)
        #expect(try db.get(meta, "hard".bytes) == "term=1".bytes)
        #expect(try db.get(meta, "gone".bytes) == nil)

        // A batch with one bad operation applies none of its operations.
        var bad = WriteBatch()
        bad.put(log, key: "e2".bytes, value: "two".bytes)
        bad.put(ColumnFamily("missing"), key: "k".bytes, value: "v".bytes)
        #expect(throws: StorageError.unknownColumnFamily("missing")) { try db.write(bad, sync: true) }
        #expect(try db.get(log, "e2".bytes) == nil)
    }

    @Test func deleteRangeRemovesHalfOpenRange() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [log])
        for i in UInt8(0)..<10 { try db.put(log, [i], [i]) }
        var batch = WriteBatch()
        batch.deleteRange(log, start: [3], end: [7])
        try db.write(batch, sync: false)
        #expect(try db.scan(log).map(\.key) == [[0], [1], [2], [7], [8], [9]])
    }

    @Test func syncedWriteSurvivesCloseAndReopen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let db = try Database(path: dir.child("db"), columnFamilies: [log, meta])
            var batch = WriteBatch()
            batch.put(log, key: [0, 0, 0, 1], value: "entry".bytes)
            batch.put(meta, key: "vote".bytes, value: [2])
            try db.write(batch, sync: true)
            db.close()
            #expect(throws: StorageError.closed) { try db.get(log, [0, 0, 0, 1]) }
        }
        // Reopening without naming `meta` still opens it: RocksDB keeps every family.
        let reopened = try Database(path: dir.child("db"), columnFamilies: [log])
        #expect(reopened.columnFamilies.contains(meta))
        #expect(try reopened.get(log, [0, 0, 0, 1]) == "entry".bytes)
        #expect(try reopened.get(meta, "vote".bytes) == [2])
    }

    @Test func openingAMissingDatabaseWithoutCreateExplainsWhy() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var options = Database.Options()
        options.createIfMissing = false
        do {
            _ = try Database(path: dir.child("absent"), columnFamilies: [], options: options)
            Issue.record("opening a missing database should fail")
        } catch let StorageError.rocksdb(operation, message) {
            #expect(operation.contains("open"))
            #expect(message.contains("does not exist"), "RocksDB's own message is kept: \(message)")
        }
    }

    @Test func checkpointOpensAsAnIndependentDatabase() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [log, meta])
        for i in 0..<100 { try db.put(log, "k\(i)".bytes, "v\(i)".bytes) }
        try db.put(meta, "term".bytes, [9])
        try db.checkpoint(to: dir.child("snap"))
        try db.put(log, "after".bytes, "x".bytes)

        #expect(throws: StorageError.checkpointTargetExists(path: dir.child("snap"))) {
            try db.checkpoint(to: dir.child("snap"))
        }
        let copy = try Database(path: dir.child("snap"), columnFamilies: [log, meta])
        #expect(try copy.scan(log).count == 100)
        #expect(try copy.get(meta, "term".bytes) == [9])
        #expect(try copy.get(log, "after".bytes) == nil, "the checkpoint is a point-in-time copy")
    }
}
