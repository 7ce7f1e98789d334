/// The membership in force and the leader's progress for each member, plus vote tallies.
struct ProgressTracker {
    private(set) var voters: Set<NodeID> = []
    private(set) var learners: Set<NodeID> = []
    var progress: [NodeID: Progress] = [:]
    private(set) var votes: [NodeID: Bool] = [:]
    let inflightsMax: Int

    init(inflightsMax: Int) { self.inflightsMax = inflightsMax }

    var configuration: ConfigurationState {
        ConfigurationState(voters: Array(voters), learners: Array(learners))
    }

    /// The votes needed for a majority of the voters.
    var quorum: Int { voters.count / 2 + 1 }

    func isVoter(_ id: NodeID) -> Bool { voters.contains(id) }
    func isMember(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }

    /// Installs a membership, keeping progress of nodes that stay, adding fresh progress
    /// (`next` = `nextIndex`) for new ones, dropping removed ones.
    mutating func apply(_ configuration: ConfigurationState, nextIndex: UInt64) {
        voters = Set(configuration.voters)
        learners = Set(configuration.learners)
        var updated: [NodeID: Progress] = [:]
        for id in configuration.members {
            var entry = progress[id] ?? Progress(next: nextIndex, inflightsMax: inflightsMax, isLearner: false)
            entry.isLearner = learners.contains(id)
            updated[id] = entry
        }
        progress = updated
    }

    /// The highest index replicated on a quorum of voters.
    func committed() -> UInt64 {
        let matches = voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard !matches.isEmpty else { return 0 }
        return matches[quorum - 1]
    }

    mutating func resetVotes() { votes = [:] }

    /// Records `id`'s vote (the first one counts).
    mutating func recordVote(_ id: NodeID, granted: Bool) {
        if votes[id] == nil { votes[id] = granted }
    }

    enum VoteResult { case pending, won, lost }

    func tallyVotes() -> (granted: Int, rejected: Int, result: VoteResult) {
        var granted = 0
        var rejected = 0
        for id in voters {
            switch votes[id] {
            case true?: granted += 1
            case false?: rejected += 1
            case nil: break
            }
        }
        if granted >= quorum { return (granted, rejected, .won) }
        if rejected > voters.count - quorum { return (granted, rejected, .lost) }
        return (granted, rejected, .pending)
    }

    /// True when a quorum of voters (counting `leader` itself) was heard from recently.
    func quorumActive(leader: NodeID) -> Bool {
        let active = voters.filter { $0 == leader || progress[$0]?.recentActive == true }.count
        return active >= quorum
    }
}
