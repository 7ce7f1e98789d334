import Foundation
import QuotaCRDT
import Storage

/// This node's own quota records in the `quota` column family: per window, its usage
/// high-water mark and the grants it made (DESIGN.md sections 4 and 5). Writes are synced
/// and serialized on a thread of their own: a record is built inside the write, so a
/// later write never carries less than an earlier one, and the blocking fsync never holds
/// a thread of the cooperative pool.
actor QuotaStore {
    private let executor: DedicatedThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let database: Database
    private static let family = StorageLayout.quota

    init(database: Database, nodeID: UInt64) {
        executor = DedicatedThreadExecutor(name: "weir-quota-\(nodeID)")
        self.database = database
    }

    deinit { executor.stop() }

    /// Where the fence of lost windows is kept, in the node-local `meta` family.
    static let fenceKey = Array("quota_fence".utf8)
    /// When this data directory began a life that may follow an earlier one under the same
    /// id (ms, 8 bytes big-endian), until reviewed (`QuotaService+Rebirth`).
    static let rebirthKey = Array("quota_reborn_ms".utf8)

    /// The stored rebirth instant; an unreadable one reads as "now" (fail closed).
    nonisolated func loadRebirth() throws -> Int64? {
        guard let bytes = try database.get(StorageLayout.meta, Self.rebirthKey) else { return nil }
        guard bytes.count == 8 else { return Int64(Date().timeIntervalSince1970 * 1000) }
        return Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// Stores (or with nil, removes) the rebirth instant, synced.
    nonisolated func saveRebirth(_ time: Int64?) throws { try Self.saveRebirth(time, in: database) }

    /// `saveRebirth` before the service exists: at a new data directory's first open.
    static func saveRebirth(_ time: Int64?, in database: Database) throws {
        if let time {
            let bits = UInt64(bitPattern: time)
            try database.put(StorageLayout.meta, rebirthKey, (0..<8).map { UInt8(truncatingIfNeeded: bits >> (56 - 8 * $0)) }, sync: true)
        } else {
            try database.delete(StorageLayout.meta, rebirthKey, sync: true)
        }
    }

    /// Stores the fence of lost windows, synced (empty: removed).
    nonisolated func saveFence(_ fence: QuotaFence) throws {
        if fence.isEmpty {
            try database.delete(StorageLayout.meta, Self.fenceKey, sync: true)
        } else {
            try database.put(StorageLayout.meta, Self.fenceKey, fence.encoded(), sync: true)
        }
    }

    /// The records written before this start, and the fence of windows whose own record
    /// is lost (DESIGN.md section 4 trusts those records not to forget usage or grants, so
    /// losing one must fail closed). An unreadable record fences its window; one whose key
    /// does not read either fences every window that started before `now`. The fence is
    /// stored and the unreadable records deleted in one synced batch, so a later start
    /// keeps the fence without finding them again.
    nonisolated func load(now: Int64) throws -> (records: [WindowUpdate], fence: QuotaFence, unreadable: Int) {
        var records: [WindowUpdate] = []
        var lost = QuotaFence()
        var unreadable: [[UInt8]] = []
        try database.forEach(Self.family) { key, value in
            let windowKey = WindowUpdateCodec.decodeKey(key)
            if let decoded = WindowUpdateCodec.decode(value), decoded.count == 1, windowKey == decoded[0].key {
                records.append(decoded[0])
            } else {
                unreadable.append(key)
                if let windowKey { lost.keys.insert(windowKey) } else { lost.startedBefore = now }
            }
            return true
        }
        let stored = try database.get(StorageLayout.meta, Self.fenceKey)
        var fence = stored.map { QuotaFence.decode($0) ?? QuotaFence(startedBefore: now) } ?? QuotaFence()
        fence.widen(with: lost)
        fence.dropEnded(now: now)
        if !unreadable.isEmpty || stored != (fence.isEmpty ? nil : fence.encoded()) {
            var batch = WriteBatch()
            for key in unreadable { batch.delete(Self.family, key: key) }
            if fence.isEmpty {
                batch.delete(StorageLayout.meta, key: Self.fenceKey)
            } else {
                batch.put(StorageLayout.meta, key: Self.fenceKey, value: fence.encoded())
            }
            try database.write(batch, sync: true)
        }
        return (records, fence, unreadable.count)
    }

    /// Builds the records with `collect` (which reads the ledger) and writes them, with
    /// the deletion of `expired`, in one synced batch. Returns what was written.
    func write(expired: [WindowKey] = [], _ collect: @Sendable () -> [WindowUpdate]) throws -> [WindowUpdate] {
        let records = collect()
        guard !records.isEmpty || !expired.isEmpty else { return [] }
        var batch = WriteBatch()
        for key in expired { batch.delete(Self.family, key: WindowUpdateCodec.encode(key)) }
        for record in records {
            batch.put(Self.family, key: WindowUpdateCodec.encode(record.key), value: WindowUpdateCodec.encode([record]))
        }
        try database.write(batch, sync: true)
        return records
    }
}
