import Atomics
import Dispatch
import Synchronization

extension MessageType {
    /// The transport's own goodbye (request) and its confirmation (response); never
    /// delivered through `messages`.
    static let leaving = MessageType(0xFFF0)
}

/// A node that shuts down tells its peers first, and they stop sending to it before its
/// connections close.
///
/// Why: nng 1.5.2 has races in closing a pipe while a message on it completes. In push0,
/// a send that finishes as its pipe closes puts the closed pipe back on the socket's
/// ready list after it is freed (nng's `push0_pipe_ready` runs after `push0_pipe_close`);
/// in its TCP transport, a receive that finishes as the pipe closes is never completed
/// (fixed upstream by nanomsg/nng#1636). Either can leave nng's single reaper thread
/// waiting for ever, after which no socket in the process closes and no link redials:
/// the peers of a node that stopped under traffic would never hear it again. Debian's
/// nng is 1.5.2, so Weir keeps traffic off a pipe while it closes: peers hold back for
/// `leavingPauseMilliseconds` or until the node is heard from again, and the closing
/// node reads what is still in flight to its end before it closes.
///
/// A node that crashes says no goodbye; its peers' links then close under whatever
/// traffic is in flight, as before.
extension PeerTransport {
    /// Asks every connected peer, at once, to stop sending to this node, and waits for
    /// their confirmations (at most `goodbyeTimeoutMilliseconds`). A peer this node has no
    /// connection to sends nothing that could race, and is not asked.
    func sayGoodbye() async {
        let peers = links.withLock { links in links.filter { $0.value.socket.pipes.value > 0 }.map(\.key) }
        let timeout = Duration.milliseconds(configuration.goodbyeTimeoutMilliseconds)
        await withTaskGroup(of: Void.self) { group in
            for peer in peers {
                group.addTask {
                    _ = try? await self.request(.leaving, [], to: peer, timeout: timeout, leaving: true)
                }
            }
        }
        if !peers.isEmpty { await waitForQuiet() }
    }

    /// Waits until nothing has arrived for `quietPeriod` (at most the goodbye timeout). A
    /// confirmation has arrived once it is written, but nng finishes the peer's send (the
    /// step that races with a closing pipe) a moment later, on its own thread; and what a
    /// peer queued before it paused is still being written.
    private func waitForQuiet() async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(configuration.goodbyeTimeoutMilliseconds))
        repeat {
            try? await Task.sleep(for: .milliseconds(5))
            if Self.uptimeNanoseconds() - lastReceived.load(ordering: .relaxed) >= Self.quietNanoseconds { return }
        } while clock.now < deadline
    }

    /// How long nothing may arrive before a leaving node closes its connections (25 ms).
    static let quietNanoseconds: UInt64 = 25_000_000

    static func uptimeNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// A peer that said goodbye. Messages to it are held back until `until`, or until it
    /// is heard from again and the connection it said goodbye on has closed (a restarted
    /// peer can be heard before this node has seen the old connection end, and a send
    /// then would race with that close).
    struct LeavingPeer {
        let until: ContinuousClock.Instant
        /// The link's count of closed pipes when the goodbye came.
        let removedAtGoodbye: Int
        var heardAgain = false
    }

    /// A peer said goodbye: hold back messages to it, then confirm. Runs on nng's thread.
    func peerIsLeaving(_ frame: Frame) {
        let until = ContinuousClock.now.advanced(by: .milliseconds(configuration.leavingPauseMilliseconds))
        let removed = links.withLock { $0[frame.sender]?.socket.pipes.removed } ?? 0
        leavingPeers.withLock { $0[frame.sender] = LeavingPeer(until: until, removedAtGoodbye: removed) }
        sendFrame(kind: .response, type: .leaving, payload: [], correlation: frame.correlation, to: frame.sender, leaving: true)
    }

    /// Any other frame from a peer means it is running (again).
    func peerIsBack(_ peer: PeerID) {
        leavingPeers.withLock { leaving in
            if !leaving.isEmpty { leaving[peer]?.heardAgain = true }
        }
    }

    func isLeaving(_ peer: PeerID, link: PeerLink) -> Bool {
        leavingPeers.withLock { leaving in
            guard let entry = leaving[peer] else { return false }
            let over = ContinuousClock.now >= entry.until
                || (entry.heardAgain && link.socket.pipes.removed > entry.removedAtGoodbye)
            if over { leaving[peer] = nil }
            return !over
        }
    }
}
