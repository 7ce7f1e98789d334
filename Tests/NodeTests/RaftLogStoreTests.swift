import Consensus
import Foundation
import Storage
import Testing
@testable import Node

@Suite struct RaftLogStoreTests {
    private func withStore(_ body: (RaftLogStore, () throws -> RaftLogStore) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-raftlog-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var database = try Database(path: path, columnFamilies: StorageLayout.all)
        let reopen: () throws -> RaftLogStore = {
            database.close()
            database = try Database(path: path, columnFamilies: StorageLayout.all)
            return try RaftLogStore(database: database)
        }
        try body(try RaftLogStore(database: database), reopen)
    }

    private func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: [UInt8(truncatingIfNeeded: $0)]) }
    }

    @Test func entriesAndHardStateSurviveReopen() throws {
        try withStore { store, reopen in
            try store.bootstrap(ConfigurationState(voters: [1, 2, 3]), data: [])
            try store.persist(Ready(hardState: HardState(term: 2, vote: 1, commit: 3), entries: entries(1...5, term: 2)))
            let again = try reopen()
            #expect(try again.initialState().0 == HardState(term: 2, vote: 1, commit: 3))
            #expect(try again.initialState().1 == ConfigurationState(voters: [1, 2, 3]))
            #expect(try again.firstIndex() == 1 && again.lastIndex() == 5)
            #expect(try again.entries(in: 2..<5, bytesMax: .max) == Array(entries(2...4, term: 2)))
            #expect(try again.term(0) == 0 && again.term(5) == 2)
            #expect(throws: LogStorageError.unavailable) { try again.term(6) }
        }
    }

    @Test func aNewLeadersEntriesReplaceTheConflictingSuffix() throws {
        try withStore { store, reopen in
            try store.persist(Ready(entries: entries(1...6, term: 1)))
            try store.persist(Ready(entries: entries(4...4, term: 3)))
            #expect(try store.lastIndex() == 4 && store.term(4) == 3 && store.term(3) == 1)
            let again = try reopen()
            #expect(try again.lastIndex() == 4, "the replaced suffix is gone on disk too")
            #expect(try again.entries(in: 1..<5, bytesMax: .max).map(\.term) == [1, 1, 1, 3])
        }
    }

    @Test func theSizeLimitStillReturnsOneEntry() throws {
        try withStore { store, _ in
            try store.persist(Ready(entries: entries(1...10, term: 1)))
            #expect(try store.entries(in: 1..<11, bytesMax: 0).count == 1)
            #expect(try store.entries(in: 1..<11, bytesMax: 60).count == 2, "about 26 bytes each")
        }
    }

    @Test func snapshotsAndCompaction() throws {
        try withStore { store, reopen in
            try store.persist(Ready(entries: entries(1...20, term: 1)))
            try store.saveSnapshot(at: 15, configuration: ConfigurationState(voters: [1]), data: [9])
            try store.compact(through: 12)
            #expect(try store.firstIndex() == 13 && store.term(12) == 1)
            #expect(throws: LogStorageError.compacted) { try store.entries(in: 12..<14, bytesMax: .max) }
            var again = try reopen()
            #expect(try again.firstIndex() == 13 && again.lastIndex() == 20)
            #expect(try again.snapshot() == Snapshot(metadata: SnapshotMetadata(index: 15, term: 1, configuration: ConfigurationState(voters: [1])), data: [9]))

            // A snapshot from the leader replaces the whole log.
            let received = Snapshot(metadata: SnapshotMetadata(index: 40, term: 4, configuration: ConfigurationState(voters: [1, 2])), data: [7])
            try again.persist(Ready(hardState: HardState(term: 4, vote: 0, commit: 40), snapshot: received))
            again = try reopen()
            #expect(try again.firstIndex() == 41 && again.lastIndex() == 40 && again.term(40) == 4)
            #expect(try again.snapshot() == received)
            try again.persist(Ready(entries: entries(41...42, term: 4)))
            #expect(try again.entries(in: 41..<43, bytesMax: .max).count == 2)
        }
    }
}
