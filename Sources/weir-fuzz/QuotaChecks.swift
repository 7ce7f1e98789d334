import QuotaCRDT

/// Checks of the window codec, and of a ledger that merges what it decoded: a peer's
/// gossip is folded in exactly this way, so the merge must take any update that decodes.
enum QuotaChecks {
    static func updates(_ bytes: [UInt8]) {
        guard let updates = WindowUpdateCodec.decode(bytes) else { return }
        let encoded = WindowUpdateCodec.encode(updates)
        // Not byte for byte: the sender's window end is replaced by the calendar's, and
        // counters are sums, so repeated slots merge.
        guard let again = WindowUpdateCodec.decode(encoded) else { violated("decoded window updates decode again from their encoding") }
        require(again == updates, "decoded window updates round-trip unchanged")
        var ledger = QuotaLedger(member: 1)
        for update in updates {
            ledger.merge(update)
            _ = ledger.rights(in: update.key)
            _ = ledger.spare(in: update.key)
            _ = ledger.usage(in: update.key)
        }
        let state = ledger.updates()
        require(WindowUpdateCodec.decode(WindowUpdateCodec.encode(state)) == state, "a ledger's own state round-trips after merging")
    }

    static func key(_ bytes: [UInt8]) {
        guard let key = WindowUpdateCodec.decodeKey(bytes) else { return }
        require(WindowUpdateCodec.encode(key) == bytes, "a decoded window key re-encodes to its bytes")
        require(key.period.window(containing: key.start).start == key.start, "a decoded key starts a window")
    }
}
