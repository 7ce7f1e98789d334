import Logging
import ServiceLifecycle

/// Keeps the cluster's record of this node's incarnation (and of its build's entry level)
/// right, once this node is a member and has caught up (ReadIndex): it records its own when
/// none is recorded (members of a static cluster, or nodes an operator added ahead of their
/// start), and stops the node
/// when the record names another data directory. That node's disk was wiped or replaced
/// and it slipped past the bootstrap probe (no peer answered in time): it must not go on
/// voting as the member it was.
struct IncarnationGuard: Service {
    let nodeID: UInt64
    let own: Incarnation
    let operations: RaftClusterOperator
    let dataDirectory: DataDirectory
    let logger: Logger
    /// How often the record is read until it names this node's incarnation.
    static let checkInterval = Duration.seconds(1)
    /// How often once it does (a later record under this id means another node took it).
    static let settledInterval = Duration.seconds(30)
    /// Every this many settled looks, the node records its entry level again even when its
    /// own view has it: a snapshot taken while the cluster was below level 4 (format 6)
    /// carries no levels, so a node restored from one has lost the other members' records
    /// until they record again (5 minutes).
    static let levelRefreshLooks = 10

    struct Replaced: Error, CustomStringConvertible {
        let node: UInt64
        let recorded: Incarnation
        let own: Incarnation
        var description: String {
            "the cluster knows node \(node) as the member that runs from data directory incarnation \(recorded), but this node runs from \(own): "
                + "its disk was wiped or replaced, so it has lost that member's log and votes and stops here. Run `clusterctl remove \(node)` "
                + "against a running node, delete this node's data directory, and start it with --join URL: it rejoins as a learner"
        }
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            var settled = false
            var settledLooks = 0
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: settled ? Self.settledInterval : Self.checkInterval)
                } catch {
                    return  // shutting down
                }
                if settled { settledLooks += 1 }
                settled = try await check(refreshLevel: settledLooks % Self.levelRefreshLooks == Self.levelRefreshLooks - 1)
            }
        }
    }

    /// One look at the record: true when it names this node's incarnation; throws
    /// `Replaced`, after marking the data directory so the node never starts from it
    /// again, when it names another.
    func check(refreshLevel: Bool = false) async throws -> Bool {
        let membership = await operations.driver.membership
        guard membership.voters.contains(nodeID) || membership.learners.contains(nodeID) else { return false }
        do {
            try await operations.catchUp()
        } catch {
            return false  // no leader, or behind: look again later
        }
        switch operations.machine.incarnation(of: nodeID) {
        case nil:
            do {
                try await operations.record(nodeID, own)
                logger.info("recorded this node's incarnation with the cluster", metadata: ["incarnation": "\(own)"])
            } catch {
                logger.debug("could not record this node's incarnation yet", metadata: ["error": "\(error)"])
            }
            return false
        case own?:
            return await levelIsRecorded(refresh: refreshLevel)
        case let recorded?:
            let replaced = Replaced(node: nodeID, recorded: recorded, own: own)
            logger.critical("\(replaced)")
            try dataDirectory.markReplaced(replaced.description)
            throw replaced
        }
    }

    /// Records the entry level of this node's build when the cluster's record says another
    /// (a rolling upgrade: the leader lets new kinds of entries through once every member has
    /// recorded their level). True when the record is right. A leader of a build before
    /// levels refuses the entry; this node asks again at the next look.
    private func levelIsRecorded(refresh: Bool) async -> Bool {
        let known = operations.machine.level(of: nodeID) == NodeStateMachine.entryLevel
        guard refresh || !known else { return true }
        do {
            try await operations.recordLevel(nodeID, NodeStateMachine.entryLevel)
            if !known { logger.info("recorded this node's entry level with the cluster", metadata: ["level": "\(NodeStateMachine.entryLevel)"]) }
            return known
        } catch {
            logger.debug("could not record this node's entry level yet", metadata: ["error": "\(error)"])
            return false
        }
    }
}
