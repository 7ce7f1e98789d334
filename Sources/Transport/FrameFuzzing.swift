import Crypto

/// The peer frame codec without a socket, for the fuzzer (`weir-fuzz`) and its corpus:
/// the same `Frame.encode` and `Frame.decode` the receive path runs, under a secret and
/// cluster id the caller chooses. Nothing on the message path uses it.
public enum FrameFuzzing {
    /// The fields of a frame that authenticated.
    public struct Fields: Equatable, Sendable {
        /// 0 one-way, 1 request, 2 response.
        public var kind: UInt8
        public var type: MessageType
        public var sender: PeerID
        public var correlation: UInt64
        public var payload: [UInt8]

        /// A frame's fields; `kind` must be 0, 1 or 2 to encode.
        public init(kind: UInt8, type: MessageType, sender: PeerID, correlation: UInt64, payload: [UInt8]) {
            self.kind = kind
            self.type = type
            self.sender = sender
            self.correlation = correlation
            self.payload = payload
        }
    }

    /// The fields of `bytes`, or nil when `Frame.decode` rejects them for any reason.
    public static func decode(_ bytes: [UInt8], secret: [UInt8], clusterID: String, payloadBytesMax: Int) -> Fields? {
        guard case let .success(frame) = Frame.decode(bytes, key: SymmetricKey(data: secret), clusterID: clusterID, payloadBytesMax: payloadBytesMax)
        else { return nil }
        return Fields(kind: frame.kind.rawValue, type: frame.type, sender: frame.sender, correlation: frame.correlation, payload: frame.payload)
    }

    /// The bytes of a frame with `fields`, MAC included. `clusterID` is 1 to 64 UTF-8 bytes.
    public static func encode(_ fields: Fields, secret: [UInt8], clusterID: String) -> [UInt8] {
        guard let kind = Frame.Kind(rawValue: fields.kind) else { preconditionFailure("a frame kind is 0, 1 or 2, not \(fields.kind)") }
        let frame = Frame(
            kind: kind, type: fields.type, sender: fields.sender, correlation: fields.correlation, clusterID: clusterID, payload: fields.payload)
        return frame.encode(key: SymmetricKey(data: secret))
    }

    /// `bytes` followed by their HMAC-SHA256 under `secret`: what a peer holding the
    /// secret would send, so a fuzzer reaches the checks after the MAC without forging one.
    public static func signed(_ bytes: [UInt8], secret: [UInt8]) -> [UInt8] {
        bytes + HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: secret))
    }
}
