private import CRocksDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Database {
    /// Visits the entries of `range` in key order (or reverse order), copying each key and
    /// value, until `body` returns false or the range ends. The iterator sees a consistent
    /// view of the database as of the call. `body` must not call `close()`.
    public func forEach(
        _ family: ColumnFamily, in range: KeyRange = .all, reverse: Bool = false,
        _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool
    ) throws {
        try withHandles(family) { db, cf in
            // RocksDB keeps pointers to the bound bytes, so they must outlive the iterator.
            let lower = range.lower.map(CBytes.init)
            let upper = range.upper.map(CBytes.init)
            let options = rocksdb_readoptions_create()!
            if let lower { rocksdb_readoptions_set_iterate_lower_bound(options, lower.pointer, lower.count) }
            if let upper { rocksdb_readoptions_set_iterate_upper_bound(options, upper.pointer, upper.count) }
            let iterator = rocksdb_create_iterator_cf(db, options, cf)!
            defer {
                rocksdb_iter_destroy(iterator)
                rocksdb_readoptions_destroy(options)
                withExtendedLifetime((lower, upper)) {}
            }
            if reverse { rocksdb_iter_seek_to_last(iterator) } else { rocksdb_iter_seek_to_first(iterator) }
            while rocksdb_iter_valid(iterator) != 0 {
                var keyLength = 0
                var valueLength = 0
                let key = rocksdb_iter_key(iterator, &keyLength)!
                let value = rocksdb_iter_value(iterator, &valueLength)!
                let keyCopy = Array(UnsafeRawBufferPointer(start: key, count: keyLength))
                let valueCopy = Array(UnsafeRawBufferPointer(start: value, count: valueLength))
                guard try body(keyCopy, valueCopy) else { break }
                if reverse { rocksdb_iter_prev(iterator) } else { rocksdb_iter_next(iterator) }
            }
            try Database.call("iterate \(family)", path: path) { err in rocksdb_iter_get_error(iterator, err) }
        }
    }

    /// The entries of `range` in key order (or reverse), at most `limit` of them.
    public func scan(
        _ family: ColumnFamily, in range: KeyRange = .all, reverse: Bool = false, limit: Int = .max
    ) throws -> [(key: [UInt8], value: [UInt8])] {
        precondition(limit >= 0)
        var entries: [(key: [UInt8], value: [UInt8])] = []
        if limit == 0 { return entries }
        try forEach(family, in: range, reverse: reverse) { key, value in
            entries.append((key, value))
            return entries.count < limit
        }
        return entries
    }
}

/// A malloc'd copy of some bytes whose address stays fixed until it is freed.
private final class CBytes {
    let pointer: UnsafeMutablePointer<CChar>
    let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        pointer = .allocate(capacity: max(count, 1))
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: count) }
        }
    }

    deinit { pointer.deallocate() }
}
