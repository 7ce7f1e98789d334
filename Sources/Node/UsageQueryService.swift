import Foundation
import Gateway
import Logging
import Transport

extension MessageType {
    /// A usage query from a peer (request/reply): a JSON `UsagePeerRequest`.
    static let usageQuery = MessageType(0x0300)
    /// Its answer: this node's part, JSON, or an empty payload when it could not read it.
    static let usageAnswer = MessageType(0x0301)
}

/// What one node asks another for.
enum UsagePeerRequest: Codable, Sendable {
    case rollups(RollupQuery)
    case events(EventQuery)
}

/// The cluster-wide usage queries (`UsageQuery`): this node's part is read from its
/// `UsageRecorder`, every other member (voters and learners) is asked over the peer
/// transport at the same time, and the parts are merged. A member that does not answer
/// within `timeout` is named in the answer's `missing`.
public final class UsageQueryService: UsageQuery, Sendable {
    static let messageTypes: Set<MessageType> = [.usageQuery]
    /// How long a peer has to answer a usage query.
    static let peerTimeout = Duration.seconds(5)

    private let reader: UsageReader
    private let transport: PeerTransport
    private let members: @Sendable () async -> [UInt64]
    private let logger: Logger

    init(recorder: UsageRecorder, transport: PeerTransport, members: @escaping @Sendable () async -> [UInt64], logger: Logger) {
        reader = UsageReader(recorder: recorder)
        self.transport = transport
        self.members = members
        self.logger = logger
    }

    public func rollups(_ query: RollupQuery) async -> ClusterAnswer<[RollupGroup]> {
        let answer = await fanOut(.rollups(query), as: [RollupGroup].self) { try await $0.rollups(query) }
        return ClusterAnswer(value: RollupGroup.merge(answer.parts), answered: answer.answered, missing: answer.missing)
    }

    public func events(_ query: EventQuery) async -> ClusterAnswer<[StoredUsageEvent]> {
        let answer = await fanOut(.events(query), as: [StoredUsageEvent].self) { try await $0.events(query) }
        return ClusterAnswer(value: StoredUsageEvent.merge(answer.parts, order: query.order, limit: query.limit), answered: answer.answered, missing: answer.missing)
    }

    /// Answers peers' queries, each in a task of its own.
    func receive(_ batch: [Envelope]) {
        for envelope in batch where envelope.type == .usageQuery && envelope.expectsReply {
            Task { await answer(envelope) }
        }
    }

    private func answer(_ envelope: Envelope) async {
        var payload: [UInt8] = []
        do {
            let request = try JSONDecoder().decode(UsagePeerRequest.self, from: Data(envelope.payload))
            let encoder = JSONEncoder()
            switch request {
            case let .rollups(query): payload = Array(try encoder.encode(try await reader.rollups(query)))
            case let .events(query): payload = Array(try encoder.encode(try await reader.events(query)))
            }
        } catch {
            logger.warning("could not answer a usage query", metadata: ["from": "\(envelope.sender)", "error": "\(error)"])
        }
        _ = transport.reply(to: envelope, .usageAnswer, payload)
    }

    private struct Parts<Part> {
        var parts: [Part] = []
        var answered: [UInt64] = []
        var missing: [UInt64] = []
    }

    private func fanOut<Part: Decodable & Sendable>(
        _ request: UsagePeerRequest, as: Part.Type, local: @escaping @Sendable (UsageReader) async throws -> Part
    ) async -> Parts<Part> {
        let me = reader.recorder.nodeID
        let peers = await members().filter { $0 != me }
        let payload = (try? JSONEncoder().encode(request)).map(Array.init) ?? []
        return await withTaskGroup(of: (UInt64, Part?).self) { group in
            group.addTask { [reader, logger] in
                do { return (me, try await local(reader)) } catch {
                    logger.error("could not read this node's usage", metadata: ["error": "\(error)"])
                    return (me, nil)
                }
            }
            for peer in peers {
                group.addTask { [transport, logger] in
                    do {
                        let reply = try await transport.request(.usageQuery, payload, to: PeerID(peer), timeout: Self.peerTimeout)
                        guard reply.type == .usageAnswer, !reply.payload.isEmpty else { return (peer, nil) }
                        return (peer, try JSONDecoder().decode(Part.self, from: Data(reply.payload)))
                    } catch {
                        logger.info("a peer did not answer a usage query", metadata: ["peer": "\(peer)", "error": "\(error)"])
                        return (peer, nil)
                    }
                }
            }
            var parts = Parts<Part>()
            for await (node, part) in group {
                if let part {
                    parts.parts.append(part)
                    parts.answered.append(node)
                } else {
                    parts.missing.append(node)
                }
            }
            return parts
        }
    }
}

/// Reads usage on a thread of its own, so a long scan never holds one of the cooperative
/// pool's threads; one query at a time.
actor UsageReader {
    let recorder: UsageRecorder
    private let executor = DedicatedThreadExecutor(name: "weir-usage-reader")

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(recorder: UsageRecorder) { self.recorder = recorder }

    func rollups(_ query: RollupQuery) throws -> [RollupGroup] { try recorder.answer(query) }
    func events(_ query: EventQuery) throws -> [StoredUsageEvent] { try recorder.answer(query) }
}
