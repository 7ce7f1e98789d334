import BinaryCoding
import QuotaCRDT

/// A request for rights: the requester's state of the window (so a peer that has not met
/// it yet splits it the same way), the amount wanted and why.
struct RightsRequest: Equatable {
    var window: WindowUpdate
    var amount: Usage
    var kind: RightsRequestKind

    /// The bytes after the window: three amounts and the kind.
    private static let trailerBytes = 25

    func encode() -> [UInt8] {
        var bytes = WindowUpdateCodec.encode([window])
        bytes.appendBigEndian(amount.requests)
        bytes.appendBigEndian(amount.tokens)
        bytes.appendBigEndian(amount.microUSD)
        bytes.append(kind.rawValue)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> RightsRequest? {
        guard bytes.count >= trailerBytes else { return nil }
        var tail = ByteReader(Array(bytes.suffix(trailerBytes)))
        guard let decoded = WindowUpdateCodec.decode(Array(bytes.dropLast(trailerBytes))), decoded.count == 1,
              let requests = tail.readUInt64(), let tokens = tail.readUInt64(), let micro = tail.readUInt64(),
              let kind = tail.readByte().flatMap(RightsRequestKind.init(rawValue:))
        else { return nil }
        let amount = Usage(requests: Int64(bitPattern: requests), tokens: Int64(bitPattern: tokens), microUSD: Int64(bitPattern: micro))
        guard amount.isNonNegative else { return nil }
        return RightsRequest(window: decoded[0], amount: amount, kind: kind)
    }
}
