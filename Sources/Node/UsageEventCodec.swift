import BinaryCoding
import Foundation
import Gateway

/// The stored form of a usage event: a version byte and the fields in a fixed order,
/// big-endian, strings length-prefixed, optionals behind a presence byte. JSON cost about
/// 10 µs per event on this platform; this costs well under one. Events written as JSON by
/// earlier versions (the first byte `{`) are still read.
enum UsageEventCodec {
    static let version: UInt8 = 1
    /// The longest string field read back (anything longer is a corrupt record).
    static let stringBytesMax = 1 << 16
    /// The most DLP rule counts one record holds (anything more is a corrupt record).
    static let dlpRulesMax = 1024

    static func encode(_ e: UsageEvent) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(256)
        out.appendBigEndian(UInt64(bitPattern: e.time))
        for text in [e.endpoint, e.token, e.principal] { put(text, &out) }
        for text in [e.user, e.app, e.organization] { put(text, &out) }
        put(e.requestedModel, &out)
        for text in [e.model, e.provider, e.credential, e.deployment] { put(text, &out) }
        for number in [Int64(e.inputTokens), Int64(e.outputTokens), e.microUSD, Int64(e.status), e.latencyMicroseconds, Int64(e.attempts), Int64(e.redactions)] {
            out.appendBigEndian(UInt64(bitPattern: number))
        }
        out.append((e.unpriced ? 1 : 0) | (e.stream ? 2 : 0) | (e.cached ? 4 : 0))
        for text in [e.errorCode, e.errorMessage, e.userAgent] { put(text, &out) }
        if let bytes = e.requestBytes {
            out.append(1)
            out.appendBigEndian(UInt64(clamping: bytes))
        } else {
            out.append(0)
        }
        if let dlp = e.dlp {
            out.append(1)
            out.append(dlp.action == .redact ? 0 : dlp.action == .block ? 1 : 2)
            put(dlp.policy, &out)
            put(dlp.scope, &out)
            put(dlp.reason, &out)
            let matches = dlp.matches.sorted(by: { $0.key < $1.key }).prefix(dlpRulesMax)
            out.appendBigEndian(UInt32(matches.count))
            for (label, count) in matches {
                put(label, &out)
                out.appendBigEndian(UInt64(clamping: count))
            }
        } else {
            out.append(0)
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> UsageEvent? {
        if bytes.first == UInt8(ascii: "{") { return try? JSONDecoder().decode(UsageEvent.self, from: Data(bytes)) }
        var r = ByteReader(bytes)
        guard r.readByte() == version, let time = r.readUInt64(),
              let endpoint = string(&r), let token = string(&r), let principal = string(&r),
              let user = optional(&r), let app = optional(&r), let organization = optional(&r), let requested = string(&r),
              let model = optional(&r), let provider = optional(&r), let credential = optional(&r), let deployment = optional(&r)
        else { return nil }
        var numbers: [Int64] = []
        for _ in 0..<7 {
            guard let number = r.readUInt64() else { return nil }
            numbers.append(Int64(bitPattern: number))
        }
        guard let flags = r.readByte(), let errorCode = optional(&r), let errorMessage = optional(&r), let userAgent = optional(&r),
              let hasBytes = r.readByte() else { return nil }
        var requestBytes: Int?
        if hasBytes == 1 {
            guard let value = r.readUInt64() else { return nil }
            requestBytes = Int(clamping: value)
        }
        guard let hasDLP = r.readByte() else { return nil }
        var dlp: DLPOutcome?
        if hasDLP == 1 {
            guard let action = r.readByte(), action <= 2, let policy = string(&r), let scope = string(&r), let reason = optional(&r),
                  let count = r.readUInt32(), count <= dlpRulesMax else { return nil }
            var matches: [String: Int] = [:]
            for _ in 0..<count {
                guard let label = string(&r), let n = r.readUInt64() else { return nil }
                matches[label] = Int(clamping: n)
            }
            dlp = DLPOutcome(action: action == 0 ? .redact : action == 1 ? .block : .bypass, policy: policy, scope: scope, matches: matches, reason: reason)
        }
        guard r.isAtEnd else { return nil }
        return UsageEvent(
            time: Int64(bitPattern: time), endpoint: endpoint, token: token, principal: principal, user: user, app: app, organization: organization,
            requestedModel: requested, model: model, provider: provider, credential: credential, deployment: deployment,
            inputTokens: Int(numbers[0]), outputTokens: Int(numbers[1]), microUSD: numbers[2], unpriced: flags & 1 != 0, status: Int(numbers[3]),
            errorCode: errorCode, stream: flags & 2 != 0, latencyMicroseconds: numbers[4], attempts: Int(numbers[5]), redactions: Int(numbers[6]),
            cached: flags & 4 != 0, dlp: dlp, errorMessage: errorMessage, userAgent: userAgent, requestBytes: requestBytes)
    }

    /// Writes at most `stringBytesMax` bytes, cut at a scalar boundary, so that whatever is
    /// written is read back: a longer field would make the whole record unreadable.
    private static func put(_ text: String, _ out: inout [UInt8]) {
        let bytes = Array(text.utf8)
        out.appendLengthPrefixed(bytes.count > stringBytesMax ? truncated(bytes) : bytes)
    }

    /// The first `stringBytesMax` bytes, less a scalar the cut would split.
    private static func truncated(_ bytes: [UInt8]) -> [UInt8] {
        var end = stringBytesMax
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }

    /// A presence byte, then the string.
    private static func put(_ text: String?, _ out: inout [UInt8]) {
        guard let text else {
            out.append(0)
            return
        }
        out.append(1)
        put(text, &out)
    }

    private static func string(_ r: inout ByteReader) -> String? {
        r.readLengthPrefixed(maximum: stringBytesMax).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `.some(nil)` for an absent field, nil for a corrupt one.
    private static func optional(_ r: inout ByteReader) -> String?? {
        switch r.readByte() {
        case 0: .some(nil)
        case 1: string(&r).map { .some($0) }
        default: nil
        }
    }
}
