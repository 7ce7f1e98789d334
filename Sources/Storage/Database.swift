private import CRocksDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One RocksDB database with named column families. The only Swift type that holds RocksDB
/// handles; no C pointer leaves this module.
///
/// Thread safety: every method may be called from any thread at once (RocksDB's handle is
/// thread-safe); `close()` waits for the operations in progress and makes later calls throw
/// `StorageError.closed`. Keys and values are binary (`[UInt8]`), never C strings. Every
/// buffer RocksDB hands back is copied and freed before the call returns.
public final class Database: @unchecked Sendable {
    /// Tuning and safety options fixed at open time. Every limit has a name and a default.
    public struct Options: Sendable {
        /// Create the database directory if it does not exist.
        public var createIfMissing = true
        /// Background threads for flushes and compactions.
        public var backgroundThreads = 2
        /// Upper bound on open SST files, so the node stays under its descriptor limit.
        public var openFilesMax = 512

        /// The defaults: create when missing, two background threads, 512 open files.
        public init() {}
    }

    /// The directory this database lives in.
    public let path: String
    /// The column families this database was opened with (the ones asked for and any that
    /// already existed on disk).
    public let columnFamilies: Set<ColumnFamily>

    private let lock = ReadWriteLock()
    // Guarded by `lock`: nil once closed.
    private var handle: OpaquePointer?
    private var familyHandles: [ColumnFamily: OpaquePointer]
    private let readOptions: OpaquePointer
    private let syncedWrites: OpaquePointer
    private let unsyncedWrites: OpaquePointer

    /// Opens (or creates) the database at `path` with `columnFamilies`, creating the ones
    /// that are missing. Throws `StorageError.locked` when another process holds the
    /// directory, `StorageError.rocksdb` for any other failure.
    public init(path: String, columnFamilies: [ColumnFamily], options: Options = Options()) throws {
        precondition(options.backgroundThreads > 0 && options.openFilesMax > 0)
        self.path = path
        let dbOptions = rocksdb_options_create()!
        defer { rocksdb_options_destroy(dbOptions) }
        rocksdb_options_set_create_if_missing(dbOptions, options.createIfMissing ? 1 : 0)
        rocksdb_options_set_create_missing_column_families(dbOptions, 1)
        rocksdb_options_increase_parallelism(dbOptions, Int32(options.backgroundThreads))
        rocksdb_options_set_max_open_files(dbOptions, Int32(options.openFilesMax))

        // RocksDB insists on opening every family that exists on disk.
        var wanted = Set(columnFamilies).union([.default])
        for name in Database.existingFamilies(path: path, options: dbOptions) {
            wanted.insert(ColumnFamily(name))
        }
        let ordered = wanted.sorted { $0.name < $1.name }
        var cNames: [UnsafePointer<CChar>?] = ordered.map { UnsafePointer(strdup($0.name)) }
        defer { cNames.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        let familyOptions: [OpaquePointer?] = Array(repeating: dbOptions, count: ordered.count)
        var handles = [OpaquePointer?](repeating: nil, count: ordered.count)

        let db = try Database.call("open \(path)", path: path) { err in
            rocksdb_open_column_families(
                dbOptions, path, Int32(ordered.count), &cNames, familyOptions, &handles, err)
        }
        guard let db else { throw StorageError.rocksdb(operation: "open \(path)", message: "no handle returned") }
        handle = db
        var byFamily: [ColumnFamily: OpaquePointer] = [:]
        for (family, cf) in zip(ordered, handles) { byFamily[family] = cf! }
        familyHandles = byFamily
        self.columnFamilies = Set(ordered)
        readOptions = rocksdb_readoptions_create()!
        syncedWrites = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(syncedWrites, 1)
        unsyncedWrites = rocksdb_writeoptions_create()!
        rocksdb_writeoptions_set_sync(unsyncedWrites, 0)
    }

    deinit {
        close()
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(syncedWrites)
        rocksdb_writeoptions_destroy(unsyncedWrites)
    }

    /// Closes the database after the operations in progress finish. Idempotent.
    public func close() {
        lock.withWriteLock {
            guard let db = handle else { return }
            for cf in familyHandles.values { rocksdb_column_family_handle_destroy(cf) }
            familyHandles = [:]
            rocksdb_close(db)
            handle = nil
        }
    }

    /// True until `close()` is called.
    public var isOpen: Bool { lock.withReadLock { handle != nil } }

    /// The value stored under `key`, or nil when there is none.
    public func get(_ family: ColumnFamily, _ key: [UInt8]) throws -> [UInt8]? {
        try lock.withReadLock {
            let (db, cf) = try resolve(family)
            var length = 0
            let value = try key.withCBytes { k, kLen in
                try Database.call("get from \(family)", path: path) { err in
                    rocksdb_get_cf(db, readOptions, cf, k, kLen, &length, err)
                }
            }
            guard let value else { return nil }
            defer { rocksdb_free(value) }
            return Array(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// Sets `key` to `value`. With `sync`, the write is on stable storage when this returns.
    public func put(_ family: ColumnFamily, _ key: [UInt8], _ value: [UInt8], sync: Bool = false) throws {
        var batch = WriteBatch()
        batch.put(family, key: key, value: value)
        try write(batch, sync: sync)
    }

    /// Removes `key` (no error if it is absent).
    public func delete(_ family: ColumnFamily, _ key: [UInt8], sync: Bool = false) throws {
        var batch = WriteBatch()
        batch.delete(family, key: key)
        try write(batch, sync: sync)
    }

    /// Applies every operation of `batch` atomically: after a crash either all of them are
    /// visible or none. With `sync`, the batch is on stable storage when this returns.
    public func write(_ batch: WriteBatch, sync: Bool) throws {
        if batch.isEmpty { return }
        try lock.withReadLock {
            guard let db = handle else { throw StorageError.closed }
            let cBatch = rocksdb_writebatch_create()!
            defer { rocksdb_writebatch_destroy(cBatch) }
            for operation in batch.operations {
                try append(operation, to: cBatch)
            }
            try Database.call("write batch of \(batch.count)", path: path) { err in
                rocksdb_write(db, sync ? syncedWrites : unsyncedWrites, cBatch, err)
            }
        }
    }

    private func append(_ operation: WriteBatch.Operation, to cBatch: OpaquePointer) throws {
        switch operation {
        case let .put(family, key, value):
            let cf = try familyHandle(family)
            key.withCBytes { k, kLen in
                value.withCBytes { v, vLen in rocksdb_writebatch_put_cf(cBatch, cf, k, kLen, v, vLen) }
            }
        case let .delete(family, key):
            let cf = try familyHandle(family)
            key.withCBytes { k, kLen in rocksdb_writebatch_delete_cf(cBatch, cf, k, kLen) }
        case let .deleteRange(family, start, end):
            let cf = try familyHandle(family)
            start.withCBytes { s, sLen in
                end.withCBytes { e, eLen in rocksdb_writebatch_delete_range_cf(cBatch, cf, s, sLen, e, eLen) }
            }
        }
    }

    /// Writes a consistent, openable copy of the whole database (all column families) to
    /// `targetPath`, which must not exist. SST files are hard-linked when on the same file
    /// system, so a checkpoint is cheap. Used for policy snapshots and backups.
    public func checkpoint(to targetPath: String) throws {
        try lock.withReadLock {
            guard let db = handle else { throw StorageError.closed }
            if access(targetPath, F_OK) == 0 { throw StorageError.checkpointTargetExists(path: targetPath) }
            let checkpoint = try Database.call("checkpoint", path: path) { err in
                rocksdb_checkpoint_object_create(db, err)
            }
            guard let checkpoint else { throw StorageError.rocksdb(operation: "checkpoint", message: "no handle returned") }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            try Database.call("checkpoint to \(targetPath)", path: path) { err in
                rocksdb_checkpoint_create(checkpoint, targetPath, 0, err)
            }
        }
    }

    // MARK: - Internals shared with Database+Iteration

    /// Runs `body` with the live handles under the shared lock.
    func withHandles<T>(_ family: ColumnFamily, _ body: (OpaquePointer, OpaquePointer) throws -> T) throws -> T {
        try lock.withReadLock {
            let (db, cf) = try resolve(family)
            return try body(db, cf)
        }
    }

    private func resolve(_ family: ColumnFamily) throws -> (OpaquePointer, OpaquePointer) {
        guard let db = handle else { throw StorageError.closed }
        return (db, try familyHandle(family))
    }

    private func familyHandle(_ family: ColumnFamily) throws -> OpaquePointer {
        guard let cf = familyHandles[family] else { throw StorageError.unknownColumnFamily(family.name) }
        return cf
    }

    private static func existingFamilies(path: String, options: OpaquePointer) -> [String] {
        var count = 0
        var err: UnsafeMutablePointer<CChar>?
        let list = rocksdb_list_column_families(options, path, &count, &err)
        if let err { rocksdb_free(err) }  // a database that does not exist yet has none
        guard let list else { return [] }
        defer { rocksdb_list_column_families_destroy(list, count) }
        return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// Calls a RocksDB function that reports failure through `char** errptr`, frees the
    /// error string and turns it into a typed error.
    static func call<T>(
        _ operation: String, path: String,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> T
    ) throws -> T {
        var err: UnsafeMutablePointer<CChar>?
        let result = try body(&err)
        if let err {
            let message = String(cString: err)
            rocksdb_free(err)
            if message.contains("While lock file") || message.contains("lock hold by current process") {
                throw StorageError.locked(path: path, message: message)
            }
            throw StorageError.rocksdb(operation: operation, message: message)
        }
        return result
    }
}

extension Array where Element == UInt8 {
    /// Passes the bytes as a `char*` and a length. An empty array still gets a valid
    /// pointer, so RocksDB never sees NULL.
    func withCBytes<R>(_ body: (UnsafePointer<CChar>, Int) throws -> R) rethrows -> R {
        if isEmpty {
            var zero: CChar = 0
            return try body(&zero, 0)
        }
        return try withUnsafeBytes { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
    }
}
