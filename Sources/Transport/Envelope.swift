/// A message received from a peer, after its frame passed every check.
public struct Envelope: Sendable, Equatable {
    /// The node that sent it (authenticated by the cluster secret).
    public let sender: PeerID
    /// The message type.
    public let type: MessageType
    /// The message body.
    public let payload: [UInt8]
    /// Non-zero when the sender awaits a reply: answer with `PeerTransport.reply(to:...)`.
    let correlation: UInt64

    /// True when the sender awaits a reply.
    public var expectsReply: Bool { correlation != 0 }

    init(sender: PeerID, type: MessageType, payload: [UInt8], correlation: UInt64) {
        self.sender = sender
        self.type = type
        self.payload = payload
        self.correlation = correlation
    }
}
