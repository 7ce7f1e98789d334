import BinaryCoding

extension Raft {
    /// Proposes a membership change as leader. Changes go one at a time: a second one is
    /// refused until the first has been applied.
    mutating func proposeConfigurationChange(_ change: ConfigurationChange) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard leadTransferee == noNode else { throw .transferInProgress }
        guard pendingConfigurationIndex <= log.applied else { throw .configurationChangeInProgress }
        try validate(change)
        let entry = Entry(term: term, index: 0, kind: .configurationChange, data: ConfigurationChangeCodec.encode(change))
        try appendEntries([entry])
        pendingConfigurationIndex = log.lastIndex
        broadcastAppend()
    }

    private func validate(_ change: ConfigurationChange) throws(RaftError) {
        switch change.kind {
        case .addVoter:
            if tracker.isVoter(change.node) { throw .invalidConfigurationChange(reason: "node \(change.node) is already a voter") }
        case .addLearner:
            if tracker.learners.contains(change.node) {
                throw .invalidConfigurationChange(reason: "node \(change.node) is already a learner")
            }
            if tracker.isVoter(change.node) && tracker.voters.count == 1 {
                throw .invalidConfigurationChange(reason: "demoting the last voter would leave no quorum")
            }
        case .remove:
            if !tracker.isMember(change.node) { throw .invalidConfigurationChange(reason: "node \(change.node) is not a member") }
            if tracker.isVoter(change.node) && tracker.voters.count == 1 {
                throw .invalidConfigurationChange(reason: "removing the last voter would leave no quorum")
            }
        }
    }

    /// Applies a committed membership change (the application calls this when it applies
    /// the entry) and returns the new membership.
    mutating func applyConfigurationChange(_ change: ConfigurationChange) -> ConfigurationState {
        var voters = tracker.voters
        var learners = tracker.learners
        switch change.kind {
        case .addVoter:
            learners.remove(change.node)
            voters.insert(change.node)
        case .addLearner:
            voters.remove(change.node)
            learners.insert(change.node)
        case .remove:
            voters.remove(change.node)
            learners.remove(change.node)
        }
        // An empty voter set can only come from a change validation should have refused;
        // keep the old membership rather than brick the group.
        guard !voters.isEmpty else { return tracker.configuration }
        let membership = ConfigurationState(voters: Array(voters), learners: Array(learners))
        tracker.apply(membership, nextIndex: log.lastIndex + 1)
        if role == .leader {
            tracker.progress[id].map { _ in tracker.progress[id]!.match = log.lastIndex }
            if !tracker.isVoter(id) {
                // A leader that removed or demoted itself steps down; the others elect a successor.
                becomeFollower(term: term, leader: noNode)
                return membership
            }
            if leadTransferee != noNode && !tracker.isVoter(leadTransferee) { leadTransferee = noNode }
            // The quorum changed: the commit may move, and new members need the log.
            if maybeCommit() { releasePendingReadIndexRequests() }
            broadcastAppend()
        }
        return membership
    }
}

/// The byte form of a `ConfigurationChange` inside a log entry:
/// kind (1 byte), node (8 bytes, big-endian), context (the rest).
public enum ConfigurationChangeCodec {
    /// Encodes `change`.
    public static func encode(_ change: ConfigurationChange) -> [UInt8] {
        var bytes: [UInt8] = [change.kind.rawValue]
        bytes.appendBigEndian(change.node)
        return bytes + change.context
    }

    /// Decodes a change, or nil for bytes that are not one.
    public static func decode(_ bytes: [UInt8]) -> ConfigurationChange? {
        guard bytes.count >= 9, let kind = ConfigurationChange.Kind(rawValue: bytes[0]) else { return nil }
        var reader = ByteReader(Array(bytes[1..<9]))
        guard let node = reader.readUInt64(), node != noNode else { return nil }
        return ConfigurationChange(kind, node: node, context: Array(bytes[9...]))
    }
}
