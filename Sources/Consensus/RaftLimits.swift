/// Ceilings on the numbers Raft accepts from peers and from storage. Beyond them a message
/// is refused (`Message.validate()`) and stored state is corrupt (`RaftStateError`), so
/// every `+ 1` on a term or an index has headroom and cannot overflow.
public enum RaftLimits {
    /// The highest term a node adopts, persists or campaigns for. Terms grow by one per
    /// election: an honest group never comes near 2⁶², while `UInt64.max` from a faulty
    /// peer would make the next election's `term + 1` trap. A node whose term reached the
    /// ceiling no longer campaigns; it stays a follower.
    public static let termMax: UInt64 = 1 << 62

    /// The highest log index accepted in any field: a message's `index`, `commit` and
    /// `rejectHint`, entry indexes, snapshot indexes, and the stored log's bounds.
    public static let indexMax: UInt64 = 1 << 62
}
