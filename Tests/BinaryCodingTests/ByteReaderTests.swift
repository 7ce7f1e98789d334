import BinaryCoding
import Testing

@Suite struct ByteReaderTests {
    @Test func fieldsRoundTripBigEndian() {
        var bytes: [UInt8] = []
        bytes.appendBigEndian(UInt16(0x0102))
        bytes.appendBigEndian(UInt32(0x0304_0506))
        bytes.appendBigEndian(UInt64.max - 1)
        bytes.appendLengthPrefixed([9, 8, 7])
        #expect(bytes.prefix(2) == [1, 2])
        var reader = ByteReader(bytes)
        #expect(reader.readUInt16() == 0x0102)
        #expect(reader.readUInt32() == 0x0304_0506)
        #expect(reader.readUInt64() == UInt64.max - 1)
        #expect(reader.readLengthPrefixed() == [9, 8, 7])
        #expect(reader.isAtEnd)
        #expect(reader.readByte() == nil && reader.readUInt64() == nil)
    }

    @Test func shortAndHostileInputIsRefusedWithoutTrapping() {
        var short = ByteReader([0, 0, 0, 9, 1, 2])
        #expect(short.readLengthPrefixed() == nil, "claims 9 bytes, has 2")
        var capped = ByteReader([0, 0, 0, 2, 1, 2])
        #expect(capped.readLengthPrefixed(maximum: 1) == nil)
        var negative = ByteReader([1])
        #expect(negative.readBytes(-1) == nil)
        #expect([UInt8].bigEndian(1) == [0, 0, 0, 0, 0, 0, 0, 1])
    }
}
