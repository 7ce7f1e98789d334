import Logging
import QuotaCRDT
import Synchronization

/// A node that joins with a new data directory may be an old id reborn: its disk was
/// wiped or replaced, it was removed and joined back under the same id. Its earlier life
/// may have used or handed on rights in windows still open, and the escrow counters would
/// let the new life spend them again (docs/quotas.md, "A node reborn under its old id").
/// So it starts fenced in every window that began before its birth, and at its first full
/// catch-up looks for any sign of an earlier life in those windows: none (a new id), and
/// the fence lifts; some, and it stays until those windows end. Fail closed: the cap
/// holds, at the cost of this node's part of the windows its earlier life was in.
extension QuotaService {
    /// The fence for lost records and, from a rebirth, every window started before it.
    static func fence(lost: QuotaFence, rebornAt: Int64?) -> QuotaFence {
        guard let rebornAt else { return lost }
        var fence = lost
        fence.widen(with: QuotaFence(startedBefore: rebornAt))
        return fence
    }

    /// Records that this data directory begins a life now, as a node joining a cluster
    /// under `nodeID`, and fences the windows started before it until `reviewRebirth`.
    public func markReborn() throws {
        let time = now()
        try store?.saveRebirth(time)
        state.withLock { s in
            s.rebornAt = time
            s.ledger.refence(Self.fence(lost: s.lostFence, rebornAt: time))
        }
        logger.notice("new data directory joining: quota windows that started before now are fenced until this node has caught up and found no earlier life of its id",
                      metadata: ["reborn_ms": "\(time)"])
    }

    /// Called when the node has applied everything its leader had committed: lifts the
    /// rebirth fence when nothing of this id shows in the windows started before it (the
    /// pool's allocations and the schedule are applied by then; gossip may be too).
    public func reviewRebirth() {
        let (lifted, reborn) = state.withLock { s -> (Bool, Int64?) in
            guard let reborn = s.rebornAt, !s.earlierLifeFound else { return (false, nil) }
            if s.ledger.showsEarlierLife(of: nodeID, inWindowsStartedBefore: reborn) || Self.scheduled(nodeID, before: reborn, in: s.schedule) {
                s.earlierLifeFound = true
                return (false, reborn)
            }
            s.rebornAt = nil
            s.ledger.refence(s.lostFence)
            return (true, reborn)
        }
        guard let reborn else { return }
        if lifted {
            do {
                try store?.saveRebirth(nil)
            } catch {
                logger.error("could not clear the stored rebirth fence; it returns at the next start and is reviewed again", metadata: ["error": "\(error)"])
            }
            logger.info("no earlier life of this node id in open quota windows: their fence is lifted")
        } else {
            logger.warning(
                "this node id had an earlier life in quota windows still open: it admits nothing in windows that started before it joined, until they end; the other nodes serve them (docs/quotas.md)",
                metadata: ["reborn_ms": "\(reborn)"])
        }
    }

    /// True when the replicated schedule gave `node` a base share in a window of some period
    /// that was current when it was reborn.
    static func scheduled(_ node: UInt64, before reborn: Int64, in schedule: MembershipSchedule) -> Bool {
        Period.allCases.contains { period in
            let start = period.window(containing: reborn - 1).start
            return start < reborn && schedule.voters(at: start)?.contains(node) == true
        }
    }
}
