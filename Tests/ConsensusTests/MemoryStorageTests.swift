import Testing
@testable import Consensus

@Suite struct MemoryStorageTests {
    private func storage(lastIndex: UInt64) throws -> MemoryStorage {
        let storage = MemoryStorage()
        try storage.append((1...lastIndex).map { Entry(term: $0 <= 3 ? 1 : 2, index: $0, data: [UInt8($0)]) })
        return storage
    }

    @Test func theContractsRanges() throws {
        let s = try storage(lastIndex: 6)
        #expect(try s.firstIndex() == 1 && s.lastIndex() == 6)
        #expect(try s.term(0) == 0 && s.term(4) == 2)
        #expect(throws: LogStorageError.unavailable) { try s.term(7) }
        #expect(try s.entries(in: 2..<5, bytesMax: .max).map(\.index) == [2, 3, 4])
        #expect(try s.entries(in: 2..<5, bytesMax: 0).map(\.index) == [2], "at least one entry")
        #expect(try s.entries(in: 2..<5, bytesMax: 50).map(\.index) == [2, 3], "25 bytes each")
        #expect(throws: LogStorageError.unavailable) { try s.entries(in: 5..<8, bytesMax: .max) }
    }

    @Test func compactionKeepsTheTermOfTheCompactedIndex() throws {
        let s = try storage(lastIndex: 6)
        try s.compact(through: 4)
        #expect(try s.firstIndex() == 5)
        #expect(try s.term(4) == 2, "term(firstIndex - 1) still answers")
        #expect(throws: LogStorageError.compacted) { try s.term(3) }
        #expect(throws: LogStorageError.compacted) { try s.entries(in: 4..<6, bytesMax: .max) }
        #expect(throws: LogStorageError.compacted) { try s.compact(through: 4) }
    }

    @Test func appendReplacesAConflictingSuffix() throws {
        let s = try storage(lastIndex: 6)
        try s.append([Entry(term: 3, index: 5), Entry(term: 3, index: 6), Entry(term: 3, index: 7)])
        #expect(try s.lastIndex() == 7 && s.term(5) == 3 && s.term(4) == 2)
        try s.append([Entry(term: 4, index: 3)])
        #expect(try s.lastIndex() == 3 && s.term(3) == 4)
    }

    @Test func snapshotsAreOrdered() throws {
        let s = try storage(lastIndex: 6)
        let snap = try s.createSnapshot(at: 5, configuration: ConfigurationState(voters: [1]), data: [1])
        #expect(snap.metadata.term == 2)
        #expect(throws: LogStorageError.snapshotOutOfDate) { try s.createSnapshot(at: 4, configuration: ConfigurationState(), data: []) }
        let fresh = MemoryStorage()
        try fresh.applySnapshot(snap)
        #expect(try fresh.firstIndex() == 6 && fresh.lastIndex() == 5 && fresh.term(5) == 2)
        #expect(throws: LogStorageError.snapshotOutOfDate) { try fresh.applySnapshot(snap) }
    }

    @Test func configurationChangesRoundTrip() {
        let change = ConfigurationChange(.addLearner, node: 0x0102_0304_0506_0708, context: Array("tcp://h:1".utf8))
        #expect(ConfigurationChangeCodec.decode(ConfigurationChangeCodec.encode(change)) == change)
        #expect(ConfigurationChangeCodec.decode([9, 0, 0, 0, 0, 0, 0, 0, 1]) == nil)
        #expect(ConfigurationChangeCodec.decode([0, 0, 0]) == nil)
    }
}
