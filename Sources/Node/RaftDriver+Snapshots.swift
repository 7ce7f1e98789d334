import Consensus
import Gateway
import Logging
import Transport

/// Snapshots larger than one peer frame travel as a stream of acknowledged chunks
/// (`SnapshotSender` on the leader, `SnapshotAssembly` on the follower). The follower
/// checks the whole message off the Raft thread before Raft sees it, and answers the last
/// chunk only once Raft has it, so the leader does not probe, or send another snapshot,
/// while the follower is still checking this one.
extension RaftDriver {
    func streamSnapshot(_ encoded: [UInt8], at index: UInt64, to peer: UInt64) {
        snapshotSender.start(encoded, at: index, to: peer) { [weak self] failed in
            await self?.snapshotStreamEnded(peer, failed: failed)
        }
    }

    private func snapshotStreamEnded(_ peer: UInt64, failed: Bool) {
        node.reportSnapshot(to: peer, failed: failed)
        requestReady()
    }

    func receiveSnapshotChunk(_ envelope: Envelope) {
        guard envelope.expectsReply else { return }
        guard let chunk = SnapshotChunk.decode(envelope.payload) else {
            return answer(envelope, .refused(.malformed))
        }
        // Only the leader this node follows sends it snapshots (Raft checks the term once
        // the message is whole), and one is checked at a time: each check expands and
        // parses a whole snapshot.
        guard envelope.sender.rawValue == node.softState.leader, !checkingStreamedSnapshot else {
            return answer(envelope, .refused(.notNow))
        }
        switch snapshotAssembly.add(chunk, from: envelope.sender.rawValue, now: .now) {
        case let .partial(received):
            answer(envelope, .accepted(received: received))
        case let .refused(reason):
            logger.warning("refused a snapshot chunk", metadata: ["from": "\(envelope.sender)", "reason": "\(reason)"])
            answer(envelope, .refused(reason))
        case let .complete(bytes):
            checkingStreamedSnapshot = true
            let machine = self.machine
            let me = configuration.nodeID
            Task.detached { [weak self] in
                let message = Self.checkedSnapshotMessage(bytes, from: envelope.sender.rawValue, to: me, machine: machine)
                guard let self else { return }
                await self.stepStreamedSnapshot(message, answering: envelope, bytes: UInt64(bytes.count))
            }
        }
    }

    /// The streamed message, if it decodes to a snapshot from `sender` to `me` that would
    /// restore here (the same checks a snapshot in one frame passes).
    nonisolated static func checkedSnapshotMessage(
        _ bytes: [UInt8], from sender: UInt64, to me: UInt64, machine: any ReplicatedStateMachine
    ) -> Message? {
        guard let message = MessageCodec.decodeMessage(bytes), message.kind == .snapshot, message.to == me,
              message.from == sender, let snapshot = message.snapshot, installable(snapshot, machine: machine)
        else { return nil }
        return message
    }

    private func stepStreamedSnapshot(_ message: Message?, answering envelope: Envelope, bytes: UInt64) {
        checkingStreamedSnapshot = false
        guard let message else {
            logger.error("refused a streamed snapshot this node cannot read", metadata: ["from": "\(envelope.sender)", "bytes": "\(bytes)"])
            return answer(envelope, .refused(.unreadable))
        }
        node.step(message)
        processReady()
        // Installed or refused by Raft (stale, or already applied): its parse is not needed.
        machine.forgetCheckedSnapshot()
        answer(envelope, .accepted(received: bytes))
    }

    private func answer(_ envelope: Envelope, _ answer: SnapshotChunkAnswer) {
        transport.reply(to: envelope, .snapshotChunkAnswer, answer.encode())
    }

    /// Snapshots this node, as leader, streamed whole to a follower since it started.
    public var snapshotsStreamed: Int { snapshotSender.completedCount }

    /// Snapshots on their way to or from this node.
    public var snapshotTransfers: [SnapshotTransfer] {
        var transfers = snapshotSender.transfers()
        if let incoming = snapshotAssembly.incoming {
            transfers.append(SnapshotTransfer(
                peer: incoming.sender, direction: "receiving", bytesDone: UInt64(incoming.bytes.count),
                bytesTotal: UInt64(incoming.total), elapsed: .now - incoming.started))
        }
        return transfers
    }
}
