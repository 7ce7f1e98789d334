/// Why a node's stored Raft state cannot be used: storage returned something a correct
/// node never writes (corruption, a lost tail, another program's data). `RawNode.init`
/// throws it at start; the operator restores the node from a backup, or removes it and
/// lets it re-join with a new data directory.
public enum RaftStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The log's first and last index do not form a log (`first` 0, `last` before
    /// `first - 1`, or past `RaftLimits.indexMax`).
    case logBounds(first: UInt64, last: UInt64)
    /// The persisted term is past `RaftLimits.termMax`.
    case termBeyondLimit(UInt64)
    /// The persisted commit index is past the last index: the log lost its tail.
    case commitBeyondLastIndex(commit: UInt64, lastIndex: UInt64)
    /// The application reports having applied past the persisted commit index.
    case appliedBeyondCommit(applied: UInt64, commit: UInt64)
    /// Storage answered a read of entries from `expected` with an entry at `found`.
    case entryOutOfPlace(expected: UInt64, found: UInt64)

    /// The problem in words, for the operator.
    public var description: String {
        switch self {
        case let .logBounds(first, last): "the stored log runs from \(first) to \(last)"
        case let .termBeyondLimit(term): "the stored term \(term) is past the limit \(RaftLimits.termMax)"
        case let .commitBeyondLastIndex(commit, last): "the stored commit \(commit) is past the last index \(last): the log lost its tail"
        case let .appliedBeyondCommit(applied, commit): "applied \(applied) is past the stored commit \(commit)"
        case let .entryOutOfPlace(expected, found): "storage returned entry \(found) where \(expected) belongs"
        }
    }
}
