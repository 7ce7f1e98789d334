extension Message {
    /// Why a message from a peer is refused before it reaches Raft. A correct node of any
    /// version never sends such a message; a faulty one, or one replaying garbage, might.
    public enum Defect: Error, Equatable, Sendable, CustomStringConvertible {
        /// `from` or `to` is `noNode`.
        case missingNode
        /// A term-carrying kind with term 0, which would be taken as "term-less" and
        /// processed as if of the current term.
        case missingTerm
        /// A term-less kind (`readIndex`, `transferLeader`) that carries a term.
        case unexpectedTerm
        /// A term past `RaftLimits.termMax` (the message's, `logTerm`, an entry's, the
        /// snapshot's).
        case termBeyondLimit
        /// `logTerm` after the message's term: no log holds an entry from a later term
        /// than its node's.
        case logTermAfterTerm
        /// An index past `RaftLimits.indexMax` (`index`, `commit`, `rejectHint`, an
        /// entry's, the snapshot's).
        case indexBeyondLimit
        /// Entries on a kind other than `append`.
        case unexpectedEntries
        /// Entries whose indexes do not run `index + 1, index + 2, …`.
        case entriesNotContiguous
        /// Entry terms that fall, start before `logTerm` (or at 0), or pass the message's
        /// term: a log's terms never fall, and a leader's entries are from its term or older.
        case entryTermsOutOfOrder
        /// A snapshot missing on `.snapshot`, or present on another kind.
        case snapshotOnWrongKind
        /// A snapshot with no voters, a term after the message's, or term 0 past index 0.
        case snapshotInvalid

        /// The defect in words, for logs.
        public var description: String {
            switch self {
            case .missingNode: "no sender or recipient"
            case .missingTerm: "term 0 on a kind that carries a term"
            case .unexpectedTerm: "a term on a term-less kind"
            case .termBeyondLimit: "a term past \(RaftLimits.termMax)"
            case .logTermAfterTerm: "logTerm after the message's term"
            case .indexBeyondLimit: "an index past \(RaftLimits.indexMax)"
            case .unexpectedEntries: "entries on a kind other than append"
            case .entriesNotContiguous: "entries that do not follow index"
            case .entryTermsOutOfOrder: "entry terms that fall or pass the message's term"
            case .snapshotOnWrongKind: "a snapshot missing or on the wrong kind"
            case .snapshotInvalid: "a snapshot with no voters or impossible terms"
            }
        }
    }

    /// Checks the shape of a message from a peer: everything Raft assumes of a message
    /// without looking at its own state. `MessageCodec` refuses what fails here, and
    /// `RawNode.step` drops it, so no field of a peer's message reaches arithmetic that
    /// could overflow or an index that could be out of range.
    public func validate() throws(Defect) {
        guard from != noNode, to != noNode else { throw .missingNode }
        if kind.isTermLess {
            guard term == 0 else { throw .unexpectedTerm }
        } else {
            guard term != 0 else { throw .missingTerm }
        }
        guard term <= RaftLimits.termMax else { throw .termBeyondLimit }
        guard logTerm <= term else { throw .logTermAfterTerm }
        let indexMax = RaftLimits.indexMax
        guard index <= indexMax, commit <= indexMax, rejectHint <= indexMax else { throw .indexBeyondLimit }
        try validateEntries()
        guard (kind == .snapshot) == (snapshot != nil) else { throw .snapshotOnWrongKind }
        if let metadata = snapshot?.metadata {
            guard metadata.index <= indexMax else { throw .indexBeyondLimit }
            guard metadata.term <= term, metadata.index == 0 || metadata.term > 0,
                  !metadata.configuration.voters.isEmpty else { throw .snapshotInvalid }
        }
    }

    private func validateEntries() throws(Defect) {
        guard !entries.isEmpty else { return }
        guard kind == .append else { throw .unexpectedEntries }
        // index ≤ indexMax, and each entry is checked against indexMax before the next
        // increment, so `expectedIndex` stays ≤ indexMax + 1.
        var expectedIndex = index + 1
        var previousTerm = max(logTerm, 1)
        for entry in entries {
            guard entry.index <= RaftLimits.indexMax else { throw .indexBeyondLimit }
            guard entry.index == expectedIndex else { throw .entriesNotContiguous }
            guard entry.term >= previousTerm, entry.term <= term else { throw .entryTermsOutOfOrder }
            expectedIndex += 1
            previousTerm = entry.term
        }
    }
}

extension Message.Kind {
    /// The kinds that carry no term (term 0): requests a node forwards on behalf of itself
    /// or the application, which mean the same in any term.
    public var isTermLess: Bool { self == .readIndex || self == .transferLeader }
}
