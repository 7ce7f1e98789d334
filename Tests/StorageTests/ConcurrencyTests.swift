import Foundation
import Testing
@testable import Storage

private let cf = ColumnFamily("quota")

@Suite struct ConcurrencyTests {
    /// A writer updates two keys together in one batch; readers on other threads iterate
    /// and must always see both keys equal (batch atomicity plus iterator snapshots) and
    /// never see the value go backwards.
    @Test func readersBesideAWriterSeeWholeBatchesOnly() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let db = try Database(path: dir.child("db"), columnFamilies: [cf])
        let writes = 2_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for n in 1...writes {
                    var batch = WriteBatch()
                    let value = withUnsafeBytes(of: UInt32(n).bigEndian) { Array($0) }
                    batch.put(cf, key: Array("pair/a".utf8), value: value)
                    batch.put(cf, key: Array("pair/b".utf8), value: value)
                    try db.write(batch, sync: false)
                }
            }
            for _ in 0..<3 {
                group.addTask {
                    var last: [UInt8] = []
                    var reads = 0
                    while last != withUnsafeBytes(of: UInt32(writes).bigEndian, { Array($0) }) {
                        let pair = try db.scan(cf, in: .prefix(Array("pair/".utf8)))
                        if pair.isEmpty { continue }
                        #expect(pair.count == 2)
                        #expect(pair[0].value == pair[1].value, "a reader saw half a batch")
                        #expect(!pair[0].value.lexicographicallyPrecedes(last), "a reader went back in time")
                        last = pair[0].value
                        reads += 1
                    }
                    #expect(reads > 0)
                }
            }
            try await group.waitForAll()
        }
    }

    /// RocksDB allows one process per directory. The error must say so plainly.
    @Test func aDirectoryLockedByAnotherProcessIsAClearError() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.child("db")
        try Database(path: path, columnFamilies: [cf]).close()

        // Another process takes the same fcntl lock RocksDB takes on LOCK.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import fcntl, sys
            f = open(sys.argv[1], 'r+')
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print('locked', flush=True)
            sys.stdin.read()
            """, path + "/LOCK"]
        let stdin = Pipe()
        let stdout = Pipe()
        holder.standardInput = stdin
        holder.standardOutput = stdout
        try holder.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let line = String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line.hasPrefix("locked"))

        do {
            _ = try Database(path: path, columnFamilies: [cf])
            Issue.record("opening a locked directory should fail")
        } catch let error as StorageError {
            guard case let .locked(lockedPath, message) = error else {
                Issue.record("expected .locked, got \(error)")
                return
            }
            #expect(lockedPath == path)
            #expect(message.contains("LOCK"))
            #expect(error.description.contains("in use by another process"))
            #expect(error.description.contains("choose another data directory"))
        }
    }
}
