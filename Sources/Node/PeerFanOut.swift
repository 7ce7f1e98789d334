import Foundation
import Logging
import Transport

/// Asks every other member the same question over the peer transport at once, answers it
/// locally too, and collects the parts: which nodes answered within `timeout`, which did
/// not. The usage analytics and the cluster overview are built on it.
struct PeerFanOut: Sendable {
    let nodeID: UInt64
    let transport: PeerTransport
    let members: @Sendable () async -> [UInt64]
    let timeout: Duration
    let logger: Logger

    struct Parts<Part: Sendable>: Sendable {
        var parts: [(node: UInt64, part: Part)] = []
        var missing: [UInt64] = []
        var answered: [UInt64] { parts.map(\.node) }
    }

    /// `request` (JSON) to every other member as `type`, each answer (JSON, `reply`) decoded
    /// as `Part`; this node's part from `local`.
    func ask<Request: Encodable & Sendable, Part: Decodable & Sendable>(
        _ type: MessageType, _ request: Request, reply: MessageType, as: Part.Type, local: @escaping @Sendable () async throws -> Part
    ) async -> Parts<Part> {
        let me = nodeID
        let peers = await members().filter { $0 != me }
        let payload = (try? JSONEncoder().encode(request)).map(Array.init) ?? []
        return await withTaskGroup(of: (UInt64, Part?).self) { group in
            group.addTask { [logger] in
                do { return (me, try await local()) } catch {
                    logger.error("could not answer a cluster query locally", metadata: ["type": "\(type)", "error": "\(error)"])
                    return (me, nil)
                }
            }
            for peer in peers {
                group.addTask { [transport, logger, timeout] in
                    do {
                        let answer = try await transport.request(type, payload, to: PeerID(peer), timeout: timeout)
                        guard answer.type == reply, !answer.payload.isEmpty else { return (peer, nil) }
                        return (peer, try JSONDecoder().decode(Part.self, from: Data(answer.payload)))
                    } catch {
                        logger.info("a peer did not answer a cluster query", metadata: ["peer": "\(peer)", "type": "\(type)", "error": "\(error)"])
                        return (peer, nil)
                    }
                }
            }
            var parts = Parts<Part>()
            for await (node, part) in group {
                if let part { parts.parts.append((node, part)) } else { parts.missing.append(node) }
            }
            return parts
        }
    }

    /// Answers a peer's question: `answer` decodes the request and encodes the reply (an
    /// empty payload tells the asker this node could not answer).
    func reply(to envelope: Envelope, _ type: MessageType, _ answer: ([UInt8]) async throws -> [UInt8]) async {
        var payload: [UInt8] = []
        do {
            payload = try await answer(envelope.payload)
        } catch {
            logger.warning("could not answer a peer's query", metadata: ["from": "\(envelope.sender)", "error": "\(error)"])
        }
        _ = transport.reply(to: envelope, type, payload)
    }
}
