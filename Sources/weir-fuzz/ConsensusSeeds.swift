import Consensus

/// Raft values as a running cluster makes them, encoded.
enum ConsensusSeeds {
    static let configuration = ConfigurationState(voters: [1, 2, 3], learners: [4])

    static let sampleEntries = [
        Entry(term: 1, index: 1),
        Entry(term: 2, index: 7, data: Array("a policy command".utf8)),
        Entry(term: 3, index: 8, kind: .configurationChange, data: ConfigurationChangeCodec.encode(ConfigurationChange(.addLearner, node: 4))),
    ]

    static var messages: [[UInt8]] {
        var append = Message(kind: .append, from: 1, to: 2, term: 3)
        append.logTerm = 2
        append.index = 6
        append.commit = 6
        append.entries = sampleEntries
        var rejected = Message(kind: .appendResponse, from: 2, to: 1, term: 3)
        rejected.reject = true
        rejected.index = 9
        rejected.rejectHint = 6
        rejected.logTerm = 2
        var vote = Message(kind: .vote, from: 3, to: 1, term: 4)
        vote.logTerm = 3
        vote.index = 8
        vote.context = Message.campaignTransfer
        var heartbeat = Message(kind: .heartbeat, from: 1, to: 3, term: 3)
        heartbeat.commit = 8
        heartbeat.context = [0, 0, 0, 0, 0, 0, 0, 42]
        var snapshot = Message(kind: .snapshot, from: 1, to: 4, term: 3)
        snapshot.snapshot = Snapshot(metadata: SnapshotMetadata(index: 8, term: 3, configuration: configuration), data: [1, 2, 3, 4])
        var readIndex = Message(kind: .readIndex, from: 2, to: 1)
        readIndex.context = [7, 7]
        return [append, rejected, vote, heartbeat, snapshot, readIndex, Message(kind: .timeoutNow, from: 1, to: 2, term: 3)]
            .map(MessageCodec.encode)
    }

    static var entries: [[UInt8]] { sampleEntries.map(MessageCodec.encode) }

    static var diskStates: [[UInt8]] {
        [
            [0] + MessageCodec.encode(HardState(term: 3, vote: 1, commit: 8)),
            [1] + MessageCodec.encode(SnapshotMetadata(index: 8, term: 3, configuration: configuration)),
            [1] + MessageCodec.encode(SnapshotMetadata()),
        ]
    }

    static var configurationChanges: [[UInt8]] {
        [
            ConfigurationChange(.addVoter, node: 4, context: Array("127.0.0.1:7084".utf8)),
            ConfigurationChange(.addLearner, node: 5),
            ConfigurationChange(.remove, node: 2),
        ].map(ConfigurationChangeCodec.encode)
    }
}
