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
    private let fanOut: PeerFanOut

    init(recorder: UsageRecorder, transport: PeerTransport, members: @escaping @Sendable () async -> [UInt64], logger: Logger) {
        reader = UsageReader(recorder: recorder)
        fanOut = PeerFanOut(nodeID: recorder.nodeID, transport: transport, members: members, timeout: Self.peerTimeout, logger: logger)
    }

    public func rollups(_ query: RollupQuery) async -> ClusterAnswer<[RollupGroup]> {
        let answer = await fanOut.ask(.usageQuery, UsagePeerRequest.rollups(query), reply: .usageAnswer, as: [RollupGroup].self) { [reader] in
            try await reader.rollups(query)
        }
        return ClusterAnswer(value: RollupGroup.merge(answer.parts.map(\.part)), answered: answer.answered, missing: answer.missing)
    }

    public func events(_ query: EventQuery) async -> ClusterAnswer<[StoredUsageEvent]> {
        let answer = await fanOut.ask(.usageQuery, UsagePeerRequest.events(query), reply: .usageAnswer, as: [StoredUsageEvent].self) { [reader] in
            try await reader.events(query)
        }
        return ClusterAnswer(
            value: StoredUsageEvent.merge(answer.parts.map(\.part), order: query.order, limit: query.limit), answered: answer.answered, missing: answer.missing)
    }

    /// Answers peers' queries, each in a task of its own.
    func receive(_ batch: [Envelope]) {
        for envelope in batch where envelope.type == .usageQuery && envelope.expectsReply {
            Task {
                await fanOut.reply(to: envelope, .usageAnswer) { [reader] payload in
                    switch try JSONDecoder().decode(UsagePeerRequest.self, from: Data(payload)) {
                    case let .rollups(query): Array(try JSONEncoder().encode(try await reader.rollups(query)))
                    case let .events(query): Array(try JSONEncoder().encode(try await reader.events(query)))
                    }
                }
            }
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
