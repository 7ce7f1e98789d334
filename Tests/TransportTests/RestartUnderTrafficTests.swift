import Foundation
import Synchronization
import Testing
@testable import Transport

/// Stopping a node under traffic, the path where nng 1.5.2's pipe-close races live (see
/// `PeerTransport+Leaving.swift`).
@Suite(.timeLimit(.minutes(5))) struct RestartUnderTrafficTests {
    /// After a peer's goodbye nothing is sent to it until it is back, and then it is.
    @Test func aPeerThatSaidGoodbyeIsHeldBackUntilItIsBack() async throws {
        let a = try startTransport(1)
        var b = try startTransport(2)
        let port = b.listenPort
        try await a.setPeers([PeerID(2): address(of: b)])
        try await b.setPeers([PeerID(1): address(of: a)])
        #expect(a.send(ping, [1], to: PeerID(2)) == .queued)
        #expect(try await nextMessage(b).payload == [1])
        #expect(b.send(ping, [2], to: PeerID(1)) == .queued)
        #expect(try await nextMessage(a).payload == [2])

        await b.shutdown()
        #expect(a.send(ping, [3], to: PeerID(2)) == .dropped(.peerLeaving))
        #expect(a.stats.droppedPeerLeaving == 1)
        await #expect(throws: TransportError.notSent(peer: PeerID(2), reason: .peerLeaving)) {
            try await a.request(ping, [], to: PeerID(2), timeout: .seconds(1))
        }

        b = try startTransport(2, port: port)
        try await b.setPeers([PeerID(1): address(of: a)])
        let receiver = b
        // b is heard again (any frame), then a's messages flow to it.
        let envelope = try await keepSending(until: b, within: .seconds(10)) {
            receiver.send(pong, [0], to: PeerID(1))
            a.send(ping, [4], to: PeerID(2))
        }
        #expect(envelope.payload == [4])
        await a.shutdown()
        await b.shutdown()
    }

    /// Three nodes flood each other; one at a time is stopped and restarted on its port,
    /// and must be heard again each time. Before the goodbye, nng hung in the first 19 to
    /// 90 rounds and nothing was heard again in the process. WEIR_TRANSPORT_RESTART_ROUNDS
    /// sets the rounds (default 10).
    @Test func aNodeStoppedUnderTrafficIsHeardAgain() async throws {
        let rounds = Int(ProcessInfo.processInfo.environment["WEIR_TRANSPORT_RESTART_ROUNDS"] ?? "") ?? 10
        var nodes = try (1...3).map { try startTransport(UInt64($0)) }
        let ports = nodes.map(\.listenPort)
        let peers = Dictionary(uniqueKeysWithValues: ports.enumerated().map { (PeerID(UInt64($0 + 1)), "tcp://127.0.0.1:\($1)") })
        for node in nodes { try await node.setPeers(peers) }
        let heard = (0..<3).map { _ in Tally() }
        var readers = nodes.enumerated().map { index, node in read(node, into: heard[index]) }
        for round in 0..<rounds {
            let flood = traffic(among: nodes, payload: Array(repeating: 1, count: 200), every: .microseconds(200))
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...80)))
            let victim = Int.random(in: 0..<3)
            let clock = ContinuousClock()
            let started = clock.now
            await nodes[victim].shutdown()
            let took = clock.now - started
            readers[victim].cancel()
            flood.cancel()
            await flood.value
            #expect(took < .seconds(3), "round \(round): stopping node \(victim + 1) took \(took)")

            nodes[victim] = try startTransport(UInt64(victim + 1), port: ports[victim])
            try await nodes[victim].setPeers(peers)
            heard[victim].reset()
            readers[victim] = read(nodes[victim], into: heard[victim])
            let trickle = traffic(among: nodes, payload: [1], every: .milliseconds(5))
            let deadline = clock.now.advanced(by: .seconds(5))
            while heard[victim].value < 4 && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            trickle.cancel()
            await trickle.value
            let count = heard[victim].value
            #expect(count >= 4, "round \(round): restarted node \(victim + 1) heard \(count) messages in 5 s")
            if count < 4 || took >= .seconds(3) { break }
        }
        for node in nodes { await node.shutdown() }
    }

    private final class Tally: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func add() { count.withLock { $0 += 1 } }
        func reset() { count.withLock { $0 = 0 } }
    }

    private func read(_ node: PeerTransport, into tally: Tally) -> Task<Void, Never> {
        Task { for await _ in node.messages { tally.add() } }
    }

    /// Every node sends `payload` to every other one, every `interval`, until cancelled.
    private func traffic(among nodes: [PeerTransport], payload: [UInt8], every interval: Duration) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                for (index, node) in nodes.enumerated() {
                    for peer in 1...nodes.count where peer != index + 1 { node.send(ping, payload, to: PeerID(UInt64(peer))) }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
