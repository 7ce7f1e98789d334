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

    /// The records written before this start; unreadable ones are skipped and counted.
    nonisolated func load() throws -> (records: [WindowUpdate], unreadable: Int) {
        var records: [WindowUpdate] = []
        var unreadable = 0
        try database.forEach(Self.family) { key, value in
            if let decoded = WindowUpdateCodec.decode(value), decoded.count == 1,
               WindowUpdateCodec.decodeKey(key) == decoded[0].key {
                records.append(decoded[0])
            } else {
                unreadable += 1
            }
            return true
        }
        return (records, unreadable)
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
