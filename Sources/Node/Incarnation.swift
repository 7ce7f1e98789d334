/// Which life of a node id a data directory is: 16 random bytes made when the directory is
/// first opened. The cluster records each member's incarnation, so a node that lost its
/// disk (a new incarnation under an old id) cannot pass for the voter it was, whose log and
/// votes it no longer has.
struct Incarnation: Hashable, Sendable, CustomStringConvertible {
    static let byteCount = 16
    let bytes: [UInt8]

    /// Nil unless `bytes` has exactly `byteCount` bytes.
    init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Nil unless `hex` is `byteCount` bytes in lower- or upper-case hex.
    init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == Self.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[pair]), let low = Self.nibble(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    private init(exactly bytes: [UInt8]) { self.bytes = bytes }

    /// A new one from the system's generator.
    static func random() -> Incarnation {
        Incarnation(exactly: (0..<byteCount).map { _ in UInt8.random(in: .min ... .max) })
    }

    var hex: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
    var description: String { hex }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
