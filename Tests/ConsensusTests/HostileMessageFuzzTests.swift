import Foundation
import SeededRandom
import Testing
@testable import Consensus

/// Seeded fuzzing of the wire decoder, the way a peer's message enters Raft.
/// `WEIR_FUZZ_SEED=n` replays or widens a run; a failure names the seed and round.
@Suite struct HostileMessageFuzzTests {
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["WEIR_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20261202
    }

    /// Valid encodings with bytes flipped, overwritten, cut or duplicated decode to nil or
    /// to a message that round-trips; the decoder never traps.
    @Test func mutatedWireBytesNeverTrapTheDecoder() {
        let seed = Self.seed
        var random = SplitMix64(seed: seed)
        for round in 0..<20_000 {
            var bytes = MessageCodec.encode(wellFormedMessage(&random))
            for _ in 0..<Int.random(in: 1...4, using: &random) { mutate(&bytes, &random) }
            guard let decoded = MessageCodec.decodeMessage(bytes) else { continue }
            guard MessageCodec.decodeMessage(MessageCodec.encode(decoded)) == decoded else {
                Issue.record("seed \(seed) round \(round): \(decoded) does not round-trip")
                return
            }
        }
    }

    /// Random bytes of random lengths never trap the decoder either.
    @Test func randomBytesNeverTrapTheDecoder() {
        let seed = Self.seed
        var random = SplitMix64(seed: seed ^ 0x5EED)
        for _ in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...160, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            if Bool.random(using: &random) && bytes.count > 1 { bytes[0] = MessageCodec.version }
            _ = MessageCodec.decodeMessage(bytes)
            _ = MessageCodec.decodeEntry(bytes)
            _ = MessageCodec.decodeHardState(bytes)
            _ = MessageCodec.decodeSnapshotMetadata(bytes)
        }
    }

    // MARK: Generators

    private func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let at = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
        case 1: bytes[at] = [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &random)!
        case 2: bytes.removeSubrange(at...)
        case 3: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 8)], at: at)
        default: bytes.replaceSubrange(at..<min(bytes.count, at + 8), with: Array(repeating: 0xFF, count: min(8, bytes.count - at)))
        }
    }

}

/// A random message the decoder must accept: numbers within the limits, term 0 exactly
/// on the term-less kinds, entries contiguous after `index` with rising terms, a snapshot
/// only (and always) on `.snapshot`.
func wellFormedMessage(_ random: inout SplitMix64) -> Message {
    let kind = Message.Kind.allCases.randomElement(using: &random)!
    let termLess = kind == .readIndex || kind == .transferLeader
    let term = termLess ? 0 : UInt64.random(in: 1...termMax, using: &random)
    var message = Message(kind: kind, from: UInt64.random(in: 1...9, using: &random), to: UInt64.random(in: 1...9, using: &random), term: term)
    message.logTerm = UInt64.random(in: 0...term, using: &random)
    message.index = UInt64.random(in: 0...(indexMax - 8), using: &random)
    message.commit = UInt64.random(in: 0...indexMax, using: &random)
    message.reject = Bool.random(using: &random)
    message.rejectHint = UInt64.random(in: 0...indexMax, using: &random)
    message.context = (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
    if kind == .append {
        var entryTerm = max(message.logTerm, 1)
        message.entries = (0..<Int.random(in: 0...5, using: &random)).map { i in
            entryTerm = UInt64.random(in: entryTerm...term, using: &random)
            return Entry(term: entryTerm, index: message.index + 1 + UInt64(i), kind: Bool.random(using: &random) ? .normal : .configurationChange,
                         data: (0..<Int.random(in: 0...40, using: &random)).map { UInt8(truncatingIfNeeded: $0) })
        }
    }
    if kind == .snapshot {
        let index = UInt64.random(in: 0...indexMax, using: &random)
        message.snapshot = Snapshot(
            metadata: SnapshotMetadata(
                index: index, term: index == 0 ? 0 : UInt64.random(in: 1...term, using: &random),
                configuration: ConfigurationState(voters: [1, 2, 3], learners: [7])),
            data: [1, 2, 3])
    }
    return message
}
