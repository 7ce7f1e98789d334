import CZstd

/// Zstandard compression (libzstd from Debian) for the node state snapshot, whose JSON
/// policy compresses about tenfold. One-shot calls: the snapshot is one buffer anyway.
/// Public for `weir-bench policy`, which measures the snapshot as the node makes it.
public enum Zstd {
    /// The level snapshots are compressed at: zstd's default, fast enough for a snapshot
    /// of 100k users in well under a second here.
    public static let level: Int32 = 3

    public static func compress(_ bytes: [UInt8], level: Int32 = Zstd.level) -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { input in
                ZSTD_compress(out.baseAddress, bound, input.baseAddress, bytes.count, level)
            }
        }
        // Compression of a buffer into its bound fails only on a programmer error (a bad level).
        precondition(ZSTD_isError(written) == 0, "zstd could not compress: \(String(cString: ZSTD_getErrorName(written)))")
        output.removeSubrange(written...)
        return output
    }

    /// The bytes `compressed` holds, which must be exactly `size` long; nil when they are
    /// not one zstd frame of that size (damaged, truncated, or lying about its size).
    public static func decompress(_ compressed: [UInt8], size: Int) -> [UInt8]? {
        guard size >= 0 else { return nil }
        let declared = compressed.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, compressed.count) }
        guard declared == UInt64(size) else { return nil }
        var output = [UInt8](repeating: 0, count: size)
        let written = output.withUnsafeMutableBytes { out in
            compressed.withUnsafeBytes { input in
                ZSTD_decompress(out.baseAddress, size, input.baseAddress, compressed.count)
            }
        }
        guard ZSTD_isError(written) == 0, written == size else { return nil }
        return output
    }
}
