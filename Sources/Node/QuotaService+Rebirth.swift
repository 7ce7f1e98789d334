import Logging
import QuotaCRDT
import Storage
import Synchronization

/// A node that starts on a new data directory may be an old id reborn: its disk was wiped
/// or replaced, and it joins back under the same id. Its earlier life may have used or
/// handed on rights in windows still open, and the escrow counters would let the new life
/// spend them again (docs/quotas.md, "A node reborn under its old id"). So, unless it is a
/// lone node forming its own cluster, it records its birth before anything else and starts
/// fenced in every window that began before it (plus a clock-skew allowance). Once it has
/// applied everything its leader had committed, it looks for its id in those windows: the
/// windows where it shows stay fenced until they end (kept with the lost-record fence),
/// and the fence lifts from all others. Fail closed: the cap holds, at the cost of this
/// node's part of the windows its earlier life was in.
extension QuotaService {
    /// How far another life's clock may have run ahead of this one's (ms): windows that
    /// start that soon after the birth are treated as begun before it.
    public static let rebirthSkewAllowanceMilliseconds: Int64 = 5_000

    /// Records, at a new data directory's first open, that a life begins now. Called
    /// before the directory gets its incarnation, so a start that fails later (a refused
    /// bootstrap, a join not yet allowed) leaves the record for the next one.
    public static func recordBirth(in database: Database, now: Int64 = wallClockMilliseconds()) throws {
        try QuotaStore.saveRebirth(now, in: database)
    }

    /// The fence for lost records and, from a rebirth, every window started before it.
    static func fence(lost: QuotaFence, rebornAt: Int64?) -> QuotaFence {
        guard let rebornAt else { return lost }
        var fence = lost
        fence.widen(with: QuotaFence(startedBefore: rebornAt.saturatingAdd(rebirthSkewAllowanceMilliseconds)))
        return fence
    }

    /// Called when the node has applied everything its leader had committed (the pool's
    /// allocations and the schedule are applied by then): keeps fenced the windows where
    /// this id shows, lifts the rest. Every window begun before the birth stays fenced
    /// when the replicated schedule gave this id a base share in one (a voter split).
    public func reviewRebirth() {
        guard let (reborn, found, keep) = state.withLock({ s -> (Int64, Set<WindowKey>, QuotaFence)? in
            guard let reborn = s.rebornAt, !s.rebirthReviewFailed else { return nil }
            let before = reborn.saturatingAdd(Self.rebirthSkewAllowanceMilliseconds)
            let found = s.ledger.earlierLife(of: nodeID, inWindowsStartedBefore: before)
            var keep = s.lostFence
            keep.widen(with: Self.scheduled(nodeID, before: before, in: s.schedule) ? QuotaFence(startedBefore: before) : QuotaFence(keys: found))
            return (reborn, found, keep)
        }) else { return }
        do {
            // The narrower fence is stored before the rebirth record goes, so no crash
            // between them leaves less than this.
            try store?.saveFence(keep)
            try store?.saveRebirth(nil)
        } catch {
            state.withLock { $0.rebirthReviewFailed = true }  // keep the whole fence until the next start
            logger.error("could not store the quota rebirth review; the fence stays until the next start reviews again", metadata: ["error": "\(error)"])
            return
        }
        state.withLock { s in
            s.rebornAt = nil
            s.lostFence = keep
            s.ledger.fence(keep)
        }
        if found.isEmpty && keep.startedBefore == nil {
            logger.info("no earlier life of this node id in open quota windows: the rebirth fence is lifted")
        } else {
            logger.warning(
                "this node id had an earlier life in quota windows still open: it admits nothing in them until they end; the other nodes serve them (docs/quotas.md)",
                metadata: ["reborn_ms": "\(reborn)", "windows": "\(found.count)", "every_older_window": "\(keep.startedBefore != nil)"])
        }
    }

    /// True when the replicated schedule gave `node` a base share in a window of some period
    /// that was current just before `time`.
    static func scheduled(_ node: UInt64, before time: Int64, in schedule: MembershipSchedule) -> Bool {
        Period.allCases.contains { period in
            let start = period.window(containing: time - 1).start
            return start < time && schedule.voters(at: start)?.contains(node) == true
        }
    }
}
