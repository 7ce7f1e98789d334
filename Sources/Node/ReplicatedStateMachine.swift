import BinaryCoding

/// What the replicated log is applied to. The policy state machine implements it; tests
/// use small recorders. Called on the Raft driver's thread, in log order.
public protocol ReplicatedStateMachine: AnyObject, Sendable {
    /// Applies the data of the committed entry at `index`. Called once per entry with data,
    /// in order; after a restart, from the snapshot's index on.
    func apply(_ data: [UInt8], at index: UInt64)
    /// Notes that the entry at `index` held nothing for the machine (a new leader's no-op,
    /// a membership change) and is applied: a read waiting for that index may go on.
    func appliedNothing(at index: UInt64)
    /// Notes that the membership change at `index` removed `node` (called before
    /// `appliedNothing` for it), on every node at the same point of the log.
    func memberRemoved(_ node: UInt64, at index: UInt64)
    /// The members in force (voters and learners, sorted): at start, after every applied
    /// membership change and after a snapshot is installed.
    func membersApplied(_ members: [UInt64])
    /// The whole state as bytes, as of the last applied entry.
    func snapshot() -> [UInt8]
    /// The state as of the last applied entry, captured now and encoded (as `snapshot()`
    /// would) when the returned function runs, on any thread: the driver takes its periodic
    /// snapshots that way, off the Raft thread.
    func snapshotEncoder() -> @Sendable () -> [UInt8]
    /// Replaces the whole state with what `snapshot()` produced, as of entry `index`.
    func restore(from data: [UInt8], at index: UInt64) throws
    /// Why this version could not apply `data`, or nil when it can: the leader refuses
    /// such a proposal rather than append it.
    func rejection(of data: [UInt8]) -> String?
    /// Whether `restore(from:at:)` would accept `data`; checked before a leader's snapshot
    /// is stepped into Raft, so an unreadable one is refused instead of installed.
    func canRestore(from data: [UInt8]) -> Bool
    /// Drops whatever `canRestore` kept for a `restore` of the same bytes: called once Raft
    /// has taken or refused the checked snapshot.
    func forgetCheckedSnapshot()
}

extension ReplicatedStateMachine {
    public func appliedNothing(at index: UInt64) {}
    public func memberRemoved(_ node: UInt64, at index: UInt64) {}
    public func membersApplied(_ members: [UInt64]) {}
    /// Only an empty entry (which would read as a leader's no-op) is refused.
    public func rejection(of data: [UInt8]) -> String? { data.isEmpty ? "an empty entry" : nil }
    /// Encodes at once (for machines whose snapshot is cheap).
    public func snapshotEncoder() -> @Sendable () -> [UInt8] {
        let bytes = snapshot()
        return { bytes }
    }
    /// Every snapshot is taken as readable.
    public func canRestore(from data: [UInt8]) -> Bool { true }
    public func forgetCheckedSnapshot() {}
}

/// A Raft snapshot's bytes: the members' peer addresses, then the state machine's bytes.
/// The addresses travel with the snapshot so a node that restarts or catches up from one
/// knows whom to talk to.
struct DriverSnapshot: Equatable {
    var addresses: [UInt64: String]
    var machine: [UInt8]

    func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt32(addresses.count))
        for (id, address) in addresses.sorted(by: { $0.key < $1.key }) {
            bytes.appendBigEndian(id)
            bytes.appendLengthPrefixed(Array(address.utf8))
        }
        bytes.appendLengthPrefixed(machine)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> DriverSnapshot? {
        if bytes.isEmpty { return DriverSnapshot(addresses: [:], machine: []) }
        var reader = ByteReader(bytes)
        guard let count = reader.readUInt32(), Int(count) <= reader.remaining / 12 else { return nil }
        var addresses: [UInt64: String] = [:]
        for _ in 0..<count {
            // Node 0 is no node (a peer id of 0 is a programmer error in the transport).
            guard let id = reader.readUInt64(), id != 0, let address = reader.readLengthPrefixed(maximum: 1024) else { return nil }
            addresses[id] = String(decoding: address, as: UTF8.self)
        }
        guard let machine = reader.readLengthPrefixed(), reader.isAtEnd else { return nil }
        return DriverSnapshot(addresses: addresses, machine: machine)
    }
}
