import Crypto
import Foundation

/// Authenticates node-to-node HTTP calls (join, remove, status) with the cluster secret,
/// which every member already holds, without ever sending it: the header
/// `X-Weir-Cluster-Signature: t=<unix seconds>,mac=<hex>` carries HMAC-SHA256 over
/// `METHOD\nPATH\nSECONDS\n` followed by the body. A signature older or newer than
/// `skewSecondsMax` is refused, which bounds replays.
public struct ClusterSignature: Sendable {
    /// The header that carries the signature.
    public static let headerName = "X-Weir-Cluster-Signature"
    /// Clock difference tolerated between nodes, in seconds.
    public static let skewSecondsMax: Int64 = 120

    private let key: SymmetricKey

    /// A signer and verifier keyed with the cluster secret.
    public init(secret: [UInt8], accepted: [[UInt8]] = []) {
        key = SymmetricKey(data: secret)
        acceptedKeys = [key] + accepted.map { SymmetricKey(data: $0) }
    }

    /// `key` and the other secrets accepted during a rotation.
    private let acceptedKeys: [SymmetricKey]

    /// The header value for a request.
    public func sign(method: String, path: String, body: [UInt8], now: Date = Date()) -> String {
        let seconds = Int64(now.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: signed(method: method, path: path, seconds: seconds, body: body), using: key)
        return "t=\(seconds),mac=\(Data(mac).map { String(format: "%02x", $0) }.joined())"
    }

    /// Why a signature was refused.
    public enum Refusal: Error, Equatable, Sendable {
        case missing, malformed, expired, invalid
    }

    /// Checks a header value; constant-time in the MAC comparison.
    public func verify(_ header: String?, method: String, path: String, body: [UInt8], now: Date = Date()) -> Refusal? {
        guard let header else { return .missing }
        var seconds: Int64?
        var macHex: String?
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return .malformed }
            if pair[0] == "t" { seconds = Int64(pair[1]) } else if pair[0] == "mac" { macHex = pair[1] }
        }
        guard let seconds, let macHex, let mac = Self.bytes(fromHex: macHex) else { return .malformed }
        // `t` is unauthenticated until the MAC is checked: compare without arithmetic on it
        // (`now - t` overflowed for t = Int64.min and crashed the node before any check).
        let current = Int64(now.timeIntervalSince1970)
        guard seconds >= current - Self.skewSecondsMax, seconds <= current + Self.skewSecondsMax else { return .expired }
        let message = signed(method: method, path: path, seconds: seconds, body: body)
        let valid = acceptedKeys.contains { HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: $0) }
        return valid ? nil : .invalid
    }

    private func signed(method: String, path: String, seconds: Int64, body: [UInt8]) -> [UInt8] {
        Array("\(method)\n\(path)\n\(seconds)\n".utf8) + body
    }

    /// The 32 bytes a 64-digit hex string spells, or nil.
    static func bytes(fromHex hex: String) -> [UInt8]? {
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
