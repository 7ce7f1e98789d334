import SeededRandom
import Testing
@testable import Consensus

@Suite struct MessageCodecTests {
    /// Random messages of every kind, from a seeded generator (`wellFormedMessage`).
    private func randomMessage(_ random: inout SplitMix64) -> Message { wellFormedMessage(&random) }

    @Test func randomMessagesRoundTrip() {
        let seed: UInt64 = 20261121
        var random = SplitMix64(seed: seed)
        for round in 0..<2_000 {
            let message = randomMessage(&random)
            guard MessageCodec.decodeMessage(MessageCodec.encode(message)) == message else {
                Issue.record("round \(round) of seed \(seed) did not round-trip: \(message)")
                return
            }
        }
    }

    /// Every truncation of a valid message, and garbage, decodes to nil without trapping.
    @Test func truncatedAndHostileBytesAreRefused() {
        var random = SplitMix64(seed: 5)
        let bytes = MessageCodec.encode(randomMessage(&random))
        for length in 0..<bytes.count {
            #expect(MessageCodec.decodeMessage(Array(bytes.prefix(length))) == nil, "prefix of \(length) bytes accepted")
        }
        #expect(MessageCodec.decodeMessage(bytes + [0]) == nil, "trailing bytes")
        // Header (2 + 7×8 + 1 bytes), an empty context (4), then an entry count that
        // claims four billion entries.
        let bare = MessageCodec.encode(Message(kind: .append, from: 1, to: 2, term: 3))
        var hostile = Array(bare.prefix(63))
        hostile += [0xFF, 0xFF, 0xFF, 0xFF, 0]
        #expect(MessageCodec.decodeMessage(bare) != nil)
        #expect(MessageCodec.decodeMessage(hostile) == nil)
        for _ in 0..<1_000 {
            let garbage = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = MessageCodec.decodeMessage(garbage)
        }
    }

    @Test func entriesHardStatesAndMetadataRoundTrip() {
        let entry = Entry(term: 3, index: 9, kind: .configurationChange, data: [1, 2])
        #expect(MessageCodec.decodeEntry(MessageCodec.encode(entry)) == entry)
        let hard = HardState(term: 4, vote: 2, commit: 17)
        #expect(MessageCodec.decodeHardState(MessageCodec.encode(hard)) == hard)
        let metadata = SnapshotMetadata(index: 10, term: 2, configuration: ConfigurationState(voters: [1, 3], learners: [4]))
        #expect(MessageCodec.decodeSnapshotMetadata(MessageCodec.encode(metadata)) == metadata)
        #expect(MessageCodec.decodeHardState([1, 2, 3]) == nil)
    }
}
