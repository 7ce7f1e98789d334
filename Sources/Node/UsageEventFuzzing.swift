import Gateway

/// The stored usage-event codec without a database, for the fuzzer (`weir-fuzz`): the
/// same `UsageEventCodec` the recorder writes and the usage queries read. Nothing on the
/// recording path uses it.
public enum UsageEventFuzzing {
    /// The event in a stored record (binary, or JSON from earlier versions), or nil.
    public static func decode(_ bytes: [UInt8]) -> UsageEvent? { UsageEventCodec.decode(bytes) }

    /// The record the recorder stores for `event`.
    public static func encode(_ event: UsageEvent) -> [UInt8] { UsageEventCodec.encode(event) }

    /// Whether `bytes` are in the JSON form of earlier versions (read, never written).
    public static func isLegacyJSON(_ bytes: [UInt8]) -> Bool { bytes.first == UInt8(ascii: "{") }
}
