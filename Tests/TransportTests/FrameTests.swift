import Crypto
import Testing
@testable import Transport

@Suite struct FrameTests {
    let key = SymmetricKey(data: secret)

    func frame(payload: [UInt8] = [1, 2, 3]) -> Frame {
        Frame(kind: .request, type: MessageType(7), sender: PeerID(3), correlation: 42, clusterID: "c1", payload: payload)
    }

    func decode(_ bytes: [UInt8], cluster: String = "c1", max: Int = 1024) -> Result<Frame, Frame.Rejection> {
        Frame.decode(bytes, key: key, clusterID: cluster, payloadBytesMax: max)
    }

    @Test func roundTrip() {
        let original = frame()
        let bytes = original.encode(key: key)
        #expect(bytes.count == Frame.encodedBytes(payloadBytes: 3, clusterID: "c1"))
        #expect(decode(bytes) == .success(original))
        #expect(decode(frame(payload: []).encode(key: key)) == .success(frame(payload: [])))
    }

    @Test func duringARotationEitherSecretIsAcceptedAndNoOther() {
        let next = SymmetricKey(data: Array("the next cluster secret, rotating in".utf8))
        let other = SymmetricKey(data: Array("a secret nobody configured here".utf8))
        let keys = [key, next]
        #expect(Frame.decode(frame().encode(key: next), keys: keys, clusterID: "c1", payloadBytesMax: 1024) == .success(frame()))
        #expect(Frame.decode(frame().encode(key: key), keys: keys, clusterID: "c1", payloadBytesMax: 1024) == .success(frame()))
        #expect(Frame.decode(frame().encode(key: other), keys: keys, clusterID: "c1", payloadBytesMax: 1024) == .failure(.badMAC))
        #expect(decode(frame().encode(key: next)) == .failure(.badMAC), "without the rotation, only the one secret")
    }

    @Test func everyCheckRejects() {
        let bytes = frame().encode(key: key)
        #expect(decode(Array(bytes.prefix(20))) == .failure(.malformed))
        var version = bytes
        version[0] = 9
        #expect(decode(version) == .failure(.unsupportedVersion))
        #expect(decode(bytes, cluster: "c2") == .failure(.unknownCluster))
        #expect(decode(bytes, max: 2) == .failure(.oversize))
        #expect(decode(frame().encode(key: SymmetricKey(data: Array("another secret, same length!!".utf8)))) == .failure(.badMAC))
        #expect(decode(bytes + [0]) == .failure(.malformed))
    }

    /// Flipping any single bit anywhere in a frame must make it fail some check.
    @Test func everySingleBitFlipIsRejected() {
        let bytes = frame(payload: Array(0..<40)).encode(key: key)
        for index in bytes.indices {
            for bit in 0..<8 {
                var tampered = bytes
                tampered[index] ^= UInt8(1 << bit)
                guard case .failure = decode(tampered) else {
                    Issue.record("flip of bit \(bit) in byte \(index) was accepted")
                    return
                }
            }
        }
    }

    @Test func configurationErrorsNameTheField() {
        var configuration = TransportConfiguration(
            nodeID: PeerID(1), clusterID: "c", clusterSecret: Array("short".utf8), listenAddress: "tcp://127.0.0.1:0")
        #expect(throws: TransportError.invalidConfiguration(field: "clusterSecret", reason: "must be at least 16 bytes")) {
            try configuration.validate()
        }
        configuration.clusterSecret = secret
        configuration.listenAddress = "127.0.0.1:7000"
        #expect(throws: TransportError.invalidConfiguration(field: "listenAddress", reason: "must start with tcp://")) {
            try configuration.validate()
        }
    }
}
