import Policy

/// Checks of the policy codec, and of the state that applies or restores what it decoded:
/// every node runs exactly these steps on each policy entry and snapshot it reads.
enum PolicyChecks {
    /// The time and index fuzzed entries are applied at.
    static let appliedAt: Int64 = 1_772_409_600_000

    static func entry(_ bytes: [UInt8]) {
        guard let entry = PolicyCodec.decodeEntry(bytes) else { return }
        require(PolicyCodec.decodeEntry(PolicyCodec.encode(entry)) == entry, "a decoded policy entry round-trips")
        var state = PolicySeeds.populated
        _ = state.apply(entry, time: appliedAt, index: 1_000)
        let restored = try? PolicyCodec.restore(PolicyCodec.snapshot(state))
        require(restored == state, "a state that applied a decoded entry survives a snapshot")
    }

    static func snapshot(_ bytes: [UInt8]) {
        guard var state = try? PolicyCodec.restore(bytes) else { return }
        // A restored state need not equal one made by applying (ids in a hostile snapshot
        // may repeat), but after one snapshot its form must be fixed.
        let canonical = PolicyCodec.snapshot(state)
        guard let again = try? PolicyCodec.restore(canonical) else { violated("a restored policy's own snapshot restores") }
        require(PolicyCodec.snapshot(again) == canonical, "a restored policy's snapshot is stable")
        // The log goes on after a snapshot: the next entries apply to the restored state.
        for entry in PolicySeeds.sampleEntries {
            _ = state.apply(entry, time: appliedAt, index: 1_000)
        }
    }
}
