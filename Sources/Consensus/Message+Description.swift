extension Message: CustomStringConvertible {
    /// One line in the style of the Raft paper: `1->2 append term=2 index=3 logTerm=1
    /// commit=3 entries=[2/4 2/5]`. Scripted tests compare these lines.
    public var description: String {
        var text = "\(from)->\(to) \(kind) term=\(term)"
        switch kind {
        case .append:
            text += " index=\(index) logTerm=\(logTerm) commit=\(commit) entries=[\(entries.map(\.shortDescription).joined(separator: " "))]"
        case .appendResponse:
            text += reject ? " reject index=\(index) hint=\(rejectHint)/\(logTerm)" : " index=\(index)"
        case .vote, .preVote:
            text += " last=\(index)/\(logTerm)" + (context.isEmpty ? "" : " transfer")
        case .voteResponse, .preVoteResponse:
            text += reject ? " rejected" : " granted"
        case .heartbeat:
            text += " commit=\(commit)" + (context.isEmpty ? "" : " ctx=\(context)")
        case .heartbeatResponse:
            text += context.isEmpty ? "" : " ctx=\(context)"
        case .snapshot:
            if let metadata = snapshot?.metadata {
                text += " snapshot=\(metadata.index)/\(metadata.term) voters=\(metadata.configuration.voters) learners=\(metadata.configuration.learners)"
            }
        case .readIndex, .readIndexResponse:
            text += " index=\(index) ctx=\(context)"
        case .transferLeader:
            text += " transferee=\(index)"
        case .timeoutNow:
            break
        }
        return text
    }
}

extension Entry {
    /// `term/index`, with `conf` or the data's length for non-empty entries.
    public var shortDescription: String {
        switch kind {
        case .configurationChange: "\(term)/\(index):conf"
        case .normal: data.isEmpty ? "\(term)/\(index)" : "\(term)/\(index):\(String(decoding: data, as: UTF8.self))"
        }
    }
}
