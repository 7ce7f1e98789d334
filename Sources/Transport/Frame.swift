import BinaryCoding
import Crypto

/// The wire frame every peer message travels in. Big-endian, authenticated:
///
/// ```
/// offset size  field
///      0    1  version (1)
///      1    1  kind: 0 one-way, 1 request, 2 response
///      2    2  message type
///      4    8  sender node id
///     12    8  correlation id (requests and responses; 0 for one-way)
///     20    1  cluster id length L (1...clusterIDBytesMax)
///     21    L  cluster id (UTF-8)
///   21+L    4  payload length P
///   25+L    P  payload
/// 25+L+P   32  HMAC-SHA256 over every byte before it, keyed with the cluster secret
/// ```
struct Frame: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        case oneWay = 0
        case request = 1
        case response = 2
    }

    static let version: UInt8 = 1
    static let clusterIDBytesMax = 64
    static let macBytes = 32
    static let fixedHeaderBytes = 21

    var kind: Kind
    var type: MessageType
    var sender: PeerID
    var correlation: UInt64
    var clusterID: String
    var payload: [UInt8]

    /// Bytes on the wire for a payload of `payloadBytes` under `clusterID`.
    static func encodedBytes(payloadBytes: Int, clusterID: String) -> Int {
        fixedHeaderBytes + clusterID.utf8.count + 4 + payloadBytes + macBytes
    }

    /// The frame's bytes, MAC included.
    func encode(key: SymmetricKey) -> [UInt8] {
        let cluster = Array(clusterID.utf8)
        precondition(!cluster.isEmpty && cluster.count <= Frame.clusterIDBytesMax)
        precondition(payload.count <= UInt32.max)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Frame.encodedBytes(payloadBytes: payload.count, clusterID: clusterID))
        bytes.append(Frame.version)
        bytes.append(kind.rawValue)
        bytes.appendBigEndian(type.rawValue)
        bytes.appendBigEndian(sender.rawValue)
        bytes.appendBigEndian(correlation)
        bytes.append(UInt8(cluster.count))
        bytes.append(contentsOf: cluster)
        bytes.appendBigEndian(UInt32(payload.count))
        bytes.append(contentsOf: payload)
        bytes.append(contentsOf: HMAC<SHA256>.authenticationCode(for: bytes, using: key))
        return bytes
    }

    /// Why a received frame was dropped.
    enum Rejection: Error, Equatable, Sendable {
        case malformed
        case unsupportedVersion
        case oversize
        case unknownCluster
        case badMAC
    }

    /// Parses and authenticates `bytes`. Checks run cheapest first, and nothing in the
    /// frame is trusted before its MAC has been verified in constant time.
    static func decode(
        _ bytes: [UInt8], key: SymmetricKey, clusterID: String, payloadBytesMax: Int
    ) -> Result<Frame, Rejection> {
        decode(bytes, keys: [key], clusterID: clusterID, payloadBytesMax: payloadBytesMax)
    }

    /// As above, accepting a MAC under any of `keys` (a rotation of the cluster secret).
    static func decode(
        _ bytes: [UInt8], keys: [SymmetricKey], clusterID: String, payloadBytesMax: Int
    ) -> Result<Frame, Rejection> {
        var reader = ByteReader(bytes)
        guard bytes.count >= fixedHeaderBytes + 1 + 4 + macBytes,
              let version = reader.readByte()
        else { return .failure(.malformed) }
        guard version == Frame.version else { return .failure(.unsupportedVersion) }
        guard let kindByte = reader.readByte(), let kind = Kind(rawValue: kindByte),
              let type = reader.readUInt16(), let sender = reader.readUInt64(), sender != 0,
              let correlation = reader.readUInt64(), let clusterLength = reader.readByte(),
              clusterLength > 0, Int(clusterLength) <= clusterIDBytesMax,
              let cluster = reader.readBytes(Int(clusterLength)),
              let payloadLength = reader.readUInt32()
        else { return .failure(.malformed) }
        guard Int(payloadLength) <= payloadBytesMax else { return .failure(.oversize) }
        guard reader.remaining == Int(payloadLength) + macBytes else { return .failure(.malformed) }
        guard cluster.elementsEqual(clusterID.utf8) else { return .failure(.unknownCluster) }
        let signedBytes = bytes.count - macBytes
        let valid = bytes.withUnsafeBytes { raw in
            keys.contains { key in HMAC<SHA256>.isValidAuthenticationCode(raw[signedBytes...], authenticating: raw[..<signedBytes], using: key) }
        }
        guard valid else { return .failure(.badMAC) }
        let payload = reader.readBytes(Int(payloadLength))!
        return .success(Frame(
            kind: kind, type: MessageType(type), sender: PeerID(sender), correlation: correlation,
            clusterID: clusterID, payload: payload))
    }
}
