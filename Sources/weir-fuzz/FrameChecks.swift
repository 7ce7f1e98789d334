import Transport

/// Checks of the peer frame decoder, twice per input: as received (a forger's frame,
/// which must fail the MAC), and signed with the cluster secret (a peer's frame, which
/// reaches every check after the MAC).
enum FrameChecks {
    static let secret: [UInt8] = Array("weir-fuzz cluster secret, 32 by!".utf8)
    static let clusterID = "fuzz-cluster"
    /// As large as the fuzzer's inputs, so both sides of the limit are reached.
    static let payloadBytesMax = 65_536

    static func frame(_ bytes: [UInt8]) {
        if let fields = decode(bytes) {
            require(FrameFuzzing.encode(fields, secret: secret, clusterID: clusterID) == bytes, "a frame that authenticated re-encodes to its bytes")
        }
        let signed = FrameFuzzing.signed(bytes, secret: secret)
        if let fields = decode(signed) {
            require(FrameFuzzing.encode(fields, secret: secret, clusterID: clusterID) == signed, "a signed frame re-encodes to its bytes")
            require(fields.sender.rawValue != 0, "a frame names its sender")
        }
    }

    private static func decode(_ bytes: [UInt8]) -> FrameFuzzing.Fields? {
        FrameFuzzing.decode(bytes, secret: secret, clusterID: clusterID, payloadBytesMax: payloadBytesMax)
    }
}

/// Frames as peers send them, without their MAC (the check appends it).
enum FrameSeeds {
    static var frames: [[UInt8]] {
        [
            FrameFuzzing.Fields(kind: 0, type: MessageType(1), sender: PeerID(1), correlation: 0, payload: Array("raft".utf8)),
            FrameFuzzing.Fields(kind: 1, type: MessageType(20), sender: PeerID(2), correlation: 77, payload: []),
            FrameFuzzing.Fields(kind: 2, type: MessageType(21), sender: PeerID(3), correlation: 77, payload: [0, 1, 2, 3, 255]),
        ].map { fields in
            Array(FrameFuzzing.encode(fields, secret: FrameChecks.secret, clusterID: FrameChecks.clusterID).dropLast(32))
        }
    }
}
