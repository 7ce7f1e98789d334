/// The decoders of bytes that arrive from peers, clients or disk, one fuzz target each. A
/// target's `run` must return normally on every input: a decoder that traps, or a decoded
/// value that does not survive re-encoding, stops the process, and that input becomes a
/// crash reproducer under `Tests/Fuzz/crashes/<target>/`.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// `MessageCodec.decodeMessage`: Raft messages from peers.
    case raftMessage = "raft-message"
    /// `MessageCodec.decodeEntry`: log entries from RocksDB.
    case raftEntry = "raft-entry"
    /// `MessageCodec.decodeHardState` and `decodeSnapshotMetadata` (first byte selects).
    case raftDiskState = "raft-disk-state"
    /// `ConfigurationChangeCodec.decode`: membership changes inside log entries.
    case configurationChange = "configuration-change"
    /// `WindowUpdateCodec.decode`: quota gossip, rights replies, durable window records.
    case windowUpdates = "window-updates"
    /// `WindowUpdateCodec.decodeKey`: window record keys in RocksDB.
    case windowKey = "window-key"
    /// `PolicyCodec.decodeEntry`: policy commands in the Raft log.
    case policyEntry = "policy-entry"
    /// `PolicyCodec.restore`: policy snapshots from disk and from the leader.
    case policySnapshot = "policy-snapshot"
    /// `Frame.decode` (through `FrameFuzzing`): every peer frame off the socket.
    case peerFrame = "peer-frame"
    /// `UsageEventCodec.decode` (through `UsageEventFuzzing`): usage records in RocksDB.
    case usageEvent = "usage-event"
    /// `RequestNumbers.read` on a parsed body (through `RequestBodyFuzzing`): every client request.
    case requestBody = "request-body"

    /// Feeds `bytes` to the decoder and checks what it returns.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .raftMessage: ConsensusChecks.message(bytes)
        case .raftEntry: ConsensusChecks.entry(bytes)
        case .raftDiskState: ConsensusChecks.diskState(bytes)
        case .configurationChange: ConsensusChecks.configurationChange(bytes)
        case .windowUpdates: QuotaChecks.updates(bytes)
        case .windowKey: QuotaChecks.key(bytes)
        case .policyEntry: PolicyChecks.entry(bytes)
        case .policySnapshot: PolicyChecks.snapshot(bytes)
        case .peerFrame: FrameChecks.frame(bytes)
        case .usageEvent: UsageEventChecks.event(bytes)
        case .requestBody: RequestBodyChecks.body(bytes)
        }
    }

    /// Small valid inputs made by encoding real values: the corpus's starting points.
    var seeds: [[UInt8]] {
        switch self {
        case .raftMessage: ConsensusSeeds.messages
        case .raftEntry: ConsensusSeeds.entries
        case .raftDiskState: ConsensusSeeds.diskStates
        case .configurationChange: ConsensusSeeds.configurationChanges
        case .windowUpdates: QuotaSeeds.updates
        case .windowKey: QuotaSeeds.keys
        case .policyEntry: PolicySeeds.entries
        case .policySnapshot: PolicySeeds.snapshots
        case .peerFrame: FrameSeeds.frames
        case .usageEvent: UsageEventSeeds.events
        case .requestBody: RequestBodySeeds.bodies
        }
    }
}

extension FuzzTarget {
    /// Whether the format is JSON (policy entries and snapshots after a version byte), so
    /// a dictionary of its strings helps.
    var isJSON: Bool { self == .policyEntry || self == .policySnapshot || self == .requestBody }
}

/// A property of a decoded value that must hold. A violation is a finding, so it stops the
/// process the way a trap in the decoder would (libFuzzer saves the input).
func require(_ condition: @autoclosure () -> Bool, _ property: @autoclosure () -> String) {
    if !condition() { violated(property()) }
}

/// Stops the process for a property that does not hold.
func violated(_ property: String) -> Never {
    fatalError("fuzz property violated: \(property)")
}
