import BinaryCoding
import Consensus
import Logging
import Transport

extension RaftDriver {
    /// Appends `data` to the replicated log and returns its index once it is committed and
    /// applied on this node's leader. On a follower the proposal is forwarded to the
    /// leader. Throws `ProposalError`.
    public func propose(_ data: [UInt8]) async throws -> UInt64 {
        // An empty proposal would be indistinguishable from a leader's no-op; the leader
        // refuses it (with every entry this version cannot apply) in `appendAsLeader`.
        if let rejection = entryCheck(data) { throw ProposalError.refused("entry refused: \(rejection)") }
        guard node.status.configuration.members.contains(configuration.nodeID) else { throw ProposalError.notMember }
        if node.softState.role == .leader {
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    let (index, term) = try appendAsLeader(data)
                    addWaiter(.local(term: term, deadline: ticks + configuration.proposalTimeoutTicks, continuation: continuation), at: index, term: term)
                    requestReady()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return try await forward(.data(data))
    }

    /// Sends a proposal to the leader and waits for its answer.
    func forward(_ proposal: ForwardedProposal) async throws -> UInt64 {
        let leader = node.softState.leader
        guard leader != noNode else { throw ProposalError.noLeader }
        let reply: Envelope
        do {
            reply = try await transport.request(
                .forwardedProposal, proposal.encode(), to: PeerID(leader),
                timeout: .milliseconds(configuration.proposalTimeoutMilliseconds))
        } catch TransportError.timedOut {
            throw ProposalError.timedOut
        } catch {
            logger.info("could not forward a proposal to the leader", metadata: ["leader": "\(leader)", "error": "\(error)"])
            throw ProposalError.noLeader
        }
        return try ForwardedResult.decode(reply.payload).get()
    }

    /// Why `data` may not be proposed, or nil.
    func entryCheck(_ data: [UInt8]) -> String? { machine.rejection(of: data) }

    /// Proposes as leader; returns the entry's index and term.
    private func appendAsLeader(_ data: [UInt8]) throws -> (UInt64, UInt64) {
        guard waiters.count < configuration.pendingProposalsMax else { throw ProposalError.tooManyPending }
        // Forwarded proposals come from peers: nothing reaches the log that this version
        // could not apply (an entry that every node fails on would stop them all).
        if let rejection = entryCheck(data) { throw ProposalError.refused("entry refused: \(rejection)") }
        do {
            try node.propose(stampProposal(data))
        } catch let RaftError.notLeader(leader) {
            throw leader == noNode ? ProposalError.noLeader : ProposalError.refused("leadership moved to node \(leader)")
        } catch {
            throw ProposalError.refused("\(error)")
        }
        return (node.lastIndex, node.hardState.term)
    }

    func handleForwardedProposal(_ request: Envelope) {
        guard request.expectsReply else { return }
        guard let proposal = ForwardedProposal.decode(request.payload) else {
            let refusal = ProposalError.refused("entry refused: an unreadable or empty forwarded proposal")
            transport.reply(to: request, .forwardedProposalResult, ForwardedResult.failure(refusal).encode())
            return
        }
        guard node.softState.role == .leader else {
            transport.reply(to: request, .forwardedProposalResult, ForwardedResult.failure(.noLeader).encode())
            return
        }
        do {
            let (index, term): (UInt64, UInt64)
            switch proposal {
            case let .data(data): (index, term) = try appendAsLeader(data)
            case let .configurationChange(change): (index, term) = try appendChangeAsLeader(change)
            }
            addWaiter(.remote(term: term, deadline: ticks + configuration.proposalTimeoutTicks, request: request), at: index, term: term)
        } catch let error as ProposalError {
            transport.reply(to: request, .forwardedProposalResult, ForwardedResult.failure(error).encode())
        } catch {
            transport.reply(to: request, .forwardedProposalResult, ForwardedResult.failure(.refused("\(error)")).encode())
        }
    }

    /// An entry was applied at `index`: the proposal waiting there committed, or — when the
    /// term differs — was replaced by another leader's entry.
    /// Waits for the entry at `index` of `term`. A waiter already there waited for an entry
    /// of an older term that a new leader replaced: it is told so (`dropped`), not
    /// overwritten and left waiting for good.
    func addWaiter(_ waiter: Waiter, at index: UInt64, term: UInt64) {
        resolveWaiter(at: index, term: term)
        waiters[index] = waiter
    }

    func resolveWaiter(at index: UInt64, term: UInt64) {
        guard let waiter = waiters.removeValue(forKey: index) else { return }
        switch waiter {
        case let .local(expected, _, continuation):
            if expected == term { continuation.resume(returning: index) } else { continuation.resume(throwing: ProposalError.dropped) }
        case let .remote(expected, _, request):
            let result: ForwardedResult = expected == term ? .success(index) : .failure(.dropped)
            transport.reply(to: request, .forwardedProposalResult, result.encode())
        }
    }

    func expireWaiters() {
        for (index, waiter) in waiters {
            switch waiter {
            case let .local(_, deadline, continuation) where deadline <= ticks:
                waiters[index] = nil
                continuation.resume(throwing: ProposalError.timedOut)
            case let .remote(_, deadline, request) where deadline <= ticks:
                waiters[index] = nil
                transport.reply(to: request, .forwardedProposalResult, ForwardedResult.failure(.timedOut).encode())
            default:
                break
            }
        }
    }

    func failAllWaiters(_ error: ProposalError) {
        for waiter in waiters.values {
            if case let .local(_, _, continuation) = waiter { continuation.resume(throwing: error) }
        }
        waiters = [:]
    }
}

/// What a follower forwards to the leader: kind 0 and the data, or kind 1 and an encoded
/// configuration change.
enum ForwardedProposal {
    case data([UInt8])
    case configurationChange(ConfigurationChange)

    func encode() -> [UInt8] {
        switch self {
        case let .data(data): [0] + data
        case let .configurationChange(change): [1] + ConfigurationChangeCodec.encode(change)
        }
    }

    static func decode(_ bytes: [UInt8]) -> ForwardedProposal? {
        guard let kind = bytes.first else { return nil }
        let body = Array(bytes.dropFirst())
        switch kind {
        case 0 where !body.isEmpty: return .data(body)
        case 1: return ConfigurationChangeCodec.decode(body).map { .configurationChange($0) }
        default: return nil
        }
    }
}

/// The leader's answer to a forwarded proposal: 0 and the index, or an error code and text.
enum ForwardedResult {
    case success(UInt64)
    case failure(ProposalError)

    func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        switch self {
        case let .success(index):
            bytes.append(0)
            bytes.appendBigEndian(index)
        case let .failure(error):
            switch error {
            case .noLeader: bytes.append(1)
            case .timedOut: bytes.append(2)
            case .dropped: bytes.append(3)
            case .notMember: bytes.append(4)
            case .tooManyPending: bytes.append(5)
            case let .refused(reason):
                bytes.append(6)
                bytes.appendLengthPrefixed(Array(reason.utf8.prefix(1024)))
            }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> Result<UInt64, ProposalError> {
        var reader = ByteReader(bytes)
        switch reader.readByte() {
        case 0?: return reader.readUInt64().map { .success($0) } ?? .failure(.refused("unreadable answer"))
        case 1?: return .failure(.noLeader)
        case 2?: return .failure(.timedOut)
        case 3?: return .failure(.dropped)
        case 4?: return .failure(.notMember)
        case 5?: return .failure(.tooManyPending)
        case 6?: return .failure(.refused(reader.readLengthPrefixed().map { String(decoding: $0, as: UTF8.self) } ?? ""))
        default: return .failure(.refused("unreadable answer"))
        }
    }
}
