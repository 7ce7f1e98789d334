/// The identity of a node on the peer network: its node id. Transport does not interpret
/// it beyond comparing it; the node id of configuration and Raft is the same number.
public struct PeerID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The node id.
    public let rawValue: UInt64

    /// Wraps a node id. Zero is reserved for "no node" in Raft and is refused here.
    public init(rawValue: UInt64) {
        precondition(rawValue != 0, "node id 0 is reserved")
        self.rawValue = rawValue
    }

    /// Wraps a node id (see `init(rawValue:)`).
    public init(_ rawValue: UInt64) { self.init(rawValue: rawValue) }

    public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// The type tag of a peer message. Modules that speak over the transport declare their own
/// constants in an extension (Raft messages, gossip deltas, rights requests …); the
/// transport only carries the number.
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The wire value.
    public let rawValue: UInt16
    /// Wraps a wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Wraps a wire value.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}
