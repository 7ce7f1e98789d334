import Testing
@testable import Consensus

/// Raft state read back from storage is checked like a peer's message (DESIGN.md section
/// 9): what a correct node never writes is a typed error at start, and a read that fails
/// later degrades the node instead of trapping it.
@Suite struct StoredStateTests {
    private let voters = ConfigurationState(voters: [1, 2, 3])

    private func start(_ storage: any LogStorage, applied: UInt64 = 0) throws -> RawNode {
        var configuration = RaftConfiguration(id: 1, randomSeed: 1)
        configuration.applied = applied
        return try RawNode(configuration: configuration, storage: storage)
    }

    /// Entries 1…3 of term 1, committed.
    private func storedLog() throws -> MemoryStorage {
        let storage = MemoryStorage(bootstrap: voters)
        try storage.append((1...3).map { Entry(term: 1, index: $0, data: [UInt8($0)]) })
        storage.setHardState(HardState(term: 1, vote: 2, commit: 3))
        return storage
    }

    @Test func aStoredCommitPastTheLastIndexIsATypedError() throws {
        let storage = MemoryStorage(bootstrap: voters)
        storage.setHardState(HardState(term: 2, vote: 1, commit: 5))
        #expect(throws: RaftStateError.commitBeyondLastIndex(commit: 5, lastIndex: 0)) { try start(storage) }
    }

    @Test func anAppliedIndexPastTheStoredCommitIsATypedError() throws {
        let storage = try storedLog()
        #expect(throws: RaftStateError.appliedBeyondCommit(applied: 4, commit: 3)) { try start(storage, applied: 4) }
    }

    @Test func logBoundsPastTheIndexLimitAreATypedError() throws {
        let storage = FaultyStorage(try storedLog())
        storage.lastIndexOverride = RaftLimits.indexMax + 1
        #expect(throws: RaftStateError.logBounds(first: 1, last: RaftLimits.indexMax + 1)) { try start(storage) }
        storage.lastIndexOverride = nil
        storage.firstIndexOverride = 0
        #expect(throws: RaftStateError.logBounds(first: 0, last: 3)) { try start(storage) }
    }

    /// Finding E1: the last entry's term was read with `try!` at the first vote.
    @Test func anUnreadableLastEntryIsAnErrorAtStart() throws {
        let storage = FaultyStorage(try storedLog())
        storage.unreadableTerms = [3]
        #expect(throws: FaultyStorage.Failure.unreadable) { try start(storage) }
    }

    @Test func aLastEntryThatBecomesUnreadableRefusesVotesAndCampaigns() throws {
        let storage = FaultyStorage(try storedLog())
        var node = try start(storage)
        storage.unreadableTerms = [3]
        var request = Message(kind: .vote, from: 2, to: 1, term: 5)
        request.index = 3
        request.logTerm = 1
        node.step(request)
        let ready = node.ready()
        #expect(ready.messages.count == 1 && ready.messages[0].reject, "the vote is refused, not granted or trapped")
        node.advance(ready)
        node.campaign()
        #expect(node.softState.role == .follower)
        storage.unreadableTerms = []
        node.campaign()
        #expect(node.softState.role == .preCandidate)
    }

    /// A corrupt record that decodes to an entry of another index must not reach the
    /// apply-order preconditions, nor make `hasReady` true forever (a driver spinning on
    /// it); the next tick retries.
    @Test func storedEntriesOutOfPlaceAreNotHandedOut() throws {
        let storage = FaultyStorage(try storedLog())
        storage.indexShift = 7
        var node = try start(storage)
        let ready = node.ready()
        #expect(ready.committedEntries.isEmpty)
        node.advance(ready)
        #expect(node.committedReadFailure as? RaftStateError == .entryOutOfPlace(expected: 1, found: 8))
        #expect(!node.hasReady, "a driver looping while hasReady would spin")
        storage.indexShift = 0
        node.tick()
        #expect(node.ready().committedEntries.map(\.index) == [1, 2, 3])
    }
}

/// A `LogStorage` over a `MemoryStorage` that can lie or fail, as a corrupt disk does.
final class FaultyStorage: LogStorage {
    enum Failure: Error { case unreadable }

    let inner: MemoryStorage
    var firstIndexOverride: UInt64?
    var lastIndexOverride: UInt64?
    /// Indexes whose term cannot be read.
    var unreadableTerms: Set<UInt64> = []
    /// Added to the index of every entry returned.
    var indexShift: UInt64 = 0

    init(_ inner: MemoryStorage) { self.inner = inner }

    func initialState() throws -> (HardState, ConfigurationState) { try inner.initialState() }

    func entries(in range: Range<UInt64>, bytesMax: Int) throws -> [Entry] {
        try inner.entries(in: range, bytesMax: bytesMax).map { entry in
            var shifted = entry
            shifted.index += indexShift
            return shifted
        }
    }

    func term(_ index: UInt64) throws -> UInt64 {
        if unreadableTerms.contains(index) { throw Failure.unreadable }
        return try inner.term(index)
    }

    func firstIndex() throws -> UInt64 { try firstIndexOverride ?? inner.firstIndex() }

    func lastIndex() throws -> UInt64 { try lastIndexOverride ?? inner.lastIndex() }

    func snapshot() throws -> Snapshot { try inner.snapshot() }
}
