import Consensus

/// Checks of the Raft codecs: whatever decodes must encode to bytes that decode to the
/// same value, and where the format has one spelling per value, to the very same bytes.
enum ConsensusChecks {
    static func message(_ bytes: [UInt8]) {
        guard let message = MessageCodec.decodeMessage(bytes) else { return }
        // Not byte for byte: snapshot memberships are sorted on the way in.
        let encoded = MessageCodec.encode(message)
        require(MessageCodec.decodeMessage(encoded) == message, "a decoded Raft message decodes again from its encoding")
        for entry in message.entries {
            require(MessageCodec.decodeEntry(MessageCodec.encode(entry)) == entry, "each entry of a message round-trips alone")
        }
    }

    static func entry(_ bytes: [UInt8]) {
        guard let entry = MessageCodec.decodeEntry(bytes) else { return }
        require(MessageCodec.encode(entry) == bytes, "a decoded log entry re-encodes to its bytes")
        if entry.kind == .configurationChange { configurationChange(entry.data) }
    }

    /// The first byte selects the record: 0 a hard state, anything else snapshot metadata.
    static func diskState(_ bytes: [UInt8]) {
        guard let selector = bytes.first else { return }
        let record = Array(bytes.dropFirst())
        if selector == 0 {
            guard let state = MessageCodec.decodeHardState(record) else { return }
            require(MessageCodec.encode(state) == record, "a decoded hard state re-encodes to its bytes")
        } else {
            guard let metadata = MessageCodec.decodeSnapshotMetadata(record) else { return }
            let encoded = MessageCodec.encode(metadata)
            require(MessageCodec.decodeSnapshotMetadata(encoded) == metadata, "decoded snapshot metadata decodes again from its encoding")
            require(metadata.configuration.voters == metadata.configuration.voters.sorted(), "voters come out sorted")
        }
    }

    static func configurationChange(_ bytes: [UInt8]) {
        guard let change = ConfigurationChangeCodec.decode(bytes) else { return }
        require(change.node != noNode, "a decoded change names a node")
        require(ConfigurationChangeCodec.encode(change) == bytes, "a decoded configuration change re-encodes to its bytes")
    }
}
