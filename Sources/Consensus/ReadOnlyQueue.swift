/// The leader's read-index requests awaiting confirmation by a quorum (Raft §6.4, the
/// "ReadIndex" read): each records the commit index when it arrived; once a quorum has
/// answered a heartbeat carrying its context, the index is safe to read at.
struct ReadOnlyQueue {
    struct Request {
        let message: Message
        let index: UInt64
        var acknowledged: Set<NodeID>
    }

    private var requests: [[UInt8]: Request] = [:]
    private var order: [[UInt8]] = []

    var count: Int { order.count }

    var lastPendingContext: [UInt8]? { order.last }

    /// Adds a request unless its context is already waiting.
    mutating func add(index: UInt64, message: Message, leader: NodeID) {
        let context = message.context
        guard requests[context] == nil else { return }
        requests[context] = Request(message: message, index: index, acknowledged: [leader])
        order.append(context)
    }

    /// Records `peer`'s acknowledgement; returns the acknowledgements so far.
    mutating func acknowledge(_ context: [UInt8], from peer: NodeID) -> Set<NodeID>? {
        guard requests[context] != nil else { return nil }
        requests[context]!.acknowledged.insert(peer)
        return requests[context]!.acknowledged
    }

    /// Removes and returns every request up to and including `context`: a quorum
    /// acknowledging a later heartbeat confirms the earlier requests too.
    mutating func advance(through context: [UInt8]) -> [Request] {
        guard let position = order.firstIndex(of: context) else { return [] }
        let done = order[...position].compactMap { requests.removeValue(forKey: $0) }
        order.removeFirst(position + 1)
        return done
    }
}

extension Raft {
    mutating func handleReadIndexRequest(_ message: Message) {
        guard tracker.voters.count > 1 else {
            answerReadIndex(message, index: log.committed)
            return
        }
        // Until this leader commits an entry of its own term it does not know the commit
        // index of the group; hold the request (bounded) until it does.
        guard committedEntryInCurrentTerm else {
            if pendingReadIndexRequests.count < configuration.pendingReadIndexMax {
                pendingReadIndexRequests.append(message)
            }
            return
        }
        readOnly.add(index: log.committed, message: message, leader: id)
        broadcastHeartbeat(context: message.context)
    }

    mutating func releasePendingReadIndexRequests() {
        guard !pendingReadIndexRequests.isEmpty, committedEntryInCurrentTerm else { return }
        let held = pendingReadIndexRequests
        pendingReadIndexRequests = []
        held.forEach { handleReadIndexRequest($0) }
    }

    mutating func handleReadIndexAcknowledgement(from peer: NodeID, context: [UInt8]) {
        guard !context.isEmpty, let acknowledged = readOnly.acknowledge(context, from: peer) else { return }
        guard acknowledged.filter({ tracker.isVoter($0) }).count >= tracker.quorum else { return }
        for request in readOnly.advance(through: context) {
            answerReadIndex(request.message, index: request.index)
        }
    }

    private mutating func answerReadIndex(_ request: Message, index: UInt64) {
        if request.from == noNode || request.from == id {
            readStates.append(ReadState(index: index, context: request.context))
        } else {
            var response = Message(kind: .readIndexResponse, from: id, to: request.from)
            response.index = index
            response.context = request.context
            send(response)
        }
    }
}
