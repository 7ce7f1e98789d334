/// Reads big-endian fields from bytes; every read returns nil past the end, so a decoder
/// of untrusted input never traps.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    /// A reader at the start of `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - offset }

    /// True when every byte was read.
    public var isAtEnd: Bool { remaining == 0 }

    public mutating func readByte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next `count` bytes, or nil if fewer remain (or `count` is negative).
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readUInt16() -> UInt16? { readInteger() }
    public mutating func readUInt32() -> UInt32? { readInteger() }
    public mutating func readUInt64() -> UInt64? { readInteger() }

    /// A `UInt32` length followed by that many bytes, refusing lengths over `maximum`.
    public mutating func readLengthPrefixed(maximum: Int = .max) -> [UInt8]? {
        guard let length = readUInt32(), Int(length) <= maximum else { return nil }
        return readBytes(Int(length))
    }

    private mutating func readInteger<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for index in offset..<offset + size { value = value << 8 | T(bytes[index]) }
        offset += size
        return value
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` big-endian.
    public mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends a `UInt32` length and then `bytes`.
    public mutating func appendLengthPrefixed(_ bytes: [UInt8]) {
        precondition(bytes.count <= UInt32.max, "field too long for a 32-bit length")
        appendBigEndian(UInt32(bytes.count))
        append(contentsOf: bytes)
    }

    /// `value` as 8 big-endian bytes, for keys that must sort numerically.
    public static func bigEndian(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(value)
        return bytes
    }
}
