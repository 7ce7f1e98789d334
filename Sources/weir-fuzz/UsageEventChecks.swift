import Node

/// Checks of the stored usage-event codec: the usage queries and rollups read every record
/// in RocksDB through it.
enum UsageEventChecks {
    static func event(_ bytes: [UInt8]) {
        guard let event = UsageEventFuzzing.decode(bytes) else { return }
        // Records in the JSON form of earlier versions are read, never written again, and
        // may hold what the binary form cannot (a negative `requestBytes`).
        guard !UsageEventFuzzing.isLegacyJSON(bytes) else { return }
        // Not byte for byte: invalid UTF-8 reads as U+FFFD and unknown flag bits are
        // dropped. A field of invalid UTF-8 near the length limit can outgrow it (three
        // bytes for each one), so the re-encoding may be refused, but never read otherwise.
        if let again = UsageEventFuzzing.decode(UsageEventFuzzing.encode(event)) {
            require(again == event, "a decoded usage event decodes unchanged from its encoding")
        }
    }
}
