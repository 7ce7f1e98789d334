import BinaryCoding
import Crypto
import Synchronization
import Testing
@testable import Transport

@Suite(.timeLimit(.minutes(2))) struct PeerTransportTests {
    @Test func oneWayAndRequestReplyRoundTrip() async throws {
        let a = try startTransport(1)
        let b = try startTransport(2)
        try await a.setPeers([PeerID(2): address(of: b)])
        try await b.setPeers([PeerID(1): address(of: a)])

        #expect(a.send(ping, Array("hello".utf8), to: PeerID(2)) == .queued)
        let hello = try await nextMessage(b)
        #expect(hello.sender == PeerID(1) && hello.type == ping && hello.payload == Array("hello".utf8))
        #expect(!hello.expectsReply)

        // b answers requests in the background.
        let responder = Task {
            for await request in b.messages where request.expectsReply {
                b.reply(to: request, pong, request.payload.reversed())
            }
        }
        let reply = try await a.request(ping, [1, 2, 3], to: PeerID(2))
        #expect(reply.sender == PeerID(2) && reply.type == pong && reply.payload == [3, 2, 1])

        await b.shutdown()
        await a.shutdown()
        await responder.value
        #expect(a.stats.sent >= 2 && b.stats.received >= 2 && a.stats.rejected == 0 && b.stats.rejected == 0)
    }

    @Test func requestWithoutReplyTimesOutAndCountsIt() async throws {
        let a = try startTransport(1)
        let b = try startTransport(2)
        try await a.setPeers([PeerID(2): address(of: b)])
        await #expect(throws: TransportError.timedOut(peer: PeerID(2), type: ping)) {
            try await a.request(ping, [], to: PeerID(2), timeout: .milliseconds(100))
        }
        #expect(a.stats.requestTimeouts == 1)
        await #expect(throws: TransportError.notSent(peer: PeerID(9), reason: .unknownPeer)) {
            try await a.request(ping, [], to: PeerID(9))
        }
        await a.shutdown()
        await b.shutdown()
    }

    @Test func aRestartedPeerIsReconnectedTo() async throws {
        let a = try startTransport(1)
        var b = try startTransport(2)
        let port = b.listenPort
        try await a.setPeers([PeerID(2): address(of: b)])
        #expect(a.send(ping, [1], to: PeerID(2)) == .queued)
        #expect(try await nextMessage(b).payload == [1])

        await b.shutdown()
        b = try startTransport(2, port: port)
        // Keep sending until the redialled link carries a message through.
        let envelope = try await keepSending(until: b) { a.send(ping, [2], to: PeerID(2)) }
        #expect(envelope.payload == [2])
        await a.shutdown()
        await b.shutdown()
    }

    @Test func forgedMalformedAndOversizeFramesAreDroppedAndCounted() async throws {
        let receiver = try startTransport(2) { $0.payloadBytesMax = 1024 }
        let honest = try startTransport(1) { $0.payloadBytesMax = 8192 }
        let wrongSecret = try startTransport(3, secret: Array("some other secret value".utf8))
        let wrongCluster = try startTransport(4, cluster: "other-cluster")
        for sender in [honest, wrongSecret, wrongCluster] {
            try await sender.setPeers([PeerID(2): address(of: receiver)])
        }

        wrongSecret.send(ping, [1], to: PeerID(2))
        wrongCluster.send(ping, [2], to: PeerID(2))
        // Over our 1 KiB limit but under nng's hard limit (twice ours): decoded and counted.
        honest.send(ping, Array(repeating: 7, count: 1500), to: PeerID(2))
        honest.sendBytes([1, 2, 3], to: PeerID(2))
        var version = Frame(kind: .oneWay, type: ping, sender: PeerID(1), correlation: 0, clusterID: "test-cluster", payload: [])
            .encode(key: SymmetricKey(data: secret))
        version[0] = 2
        honest.sendBytes(version, to: PeerID(2))
        try await eventually("all five bad frames to be rejected") { receiver.stats.rejected == 5 }

        // The honest peer's next good frame still arrives, and nothing bad was delivered.
        honest.send(ping, [42], to: PeerID(2))
        #expect(try await nextMessage(receiver).payload == [42])
        let stats = receiver.stats
        #expect(stats.rejectedBadMAC == 1 && stats.rejectedUnknownCluster == 1 && stats.rejectedOversize == 1)
        #expect(stats.rejectedMalformed == 1 && stats.rejectedUnsupportedVersion == 1 && stats.received == 1)
        #expect(honest.send(ping, Array(repeating: 0, count: 8193), to: PeerID(2)) == .dropped(.oversize))
        #expect(honest.send(ping, [], to: PeerID(99)) == .dropped(.unknownPeer))
        #expect(honest.stats.droppedOversize == 1 && honest.stats.droppedUnknownPeer == 1)
        for transport in [receiver, honest, wrongSecret, wrongCluster] { await transport.shutdown() }
    }

    /// A frame far over the limit never reaches Swift: nng refuses it and drops the
    /// connection, and the sender's link redials and carries on.
    @Test func aFrameFarOverTheLimitIsRefusedAndTheLinkRecovers() async throws {
        let receiver = try startTransport(2) { $0.payloadBytesMax = 1024 }
        let sender = try startTransport(1) { $0.payloadBytesMax = 1 << 20 }
        try await sender.setPeers([PeerID(2): address(of: receiver)])
        #expect(sender.send(ping, Array(repeating: 1, count: 64 * 1024), to: PeerID(2)) == .queued)
        let envelope = try await keepSending(until: receiver) { sender.send(ping, [2], to: PeerID(2)) }
        #expect(envelope.payload == [2], "only the small message may arrive")
        await sender.shutdown()
        await receiver.shutdown()
    }

    /// Every message the transport accepts over a healthy link arrives, once, in order.
    @Test func aHundredThousandMessagesArriveWithNoneLost() async throws {
        let count = 100_000
        let receiver = try startTransport(2)
        let sender = try startTransport(1)
        try await sender.setPeers([PeerID(2): address(of: receiver)])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var expected: UInt32 = 0
                for await envelope in receiver.messages {
                    var reader = ByteReader(envelope.payload)
                    let sequence = reader.readUInt32()
                    #expect(sequence == expected, "message \(expected) lost, duplicated or reordered")
                    if sequence != expected { return }
                    expected += 1
                    if expected == count { return }
                }
            }
            group.addTask {
                var sequence: UInt32 = 0
                var payload: [UInt8] = []
                while sequence < count {
                    payload.removeAll(keepingCapacity: true)
                    payload.appendBigEndian(sequence)
                    payload.append(contentsOf: repeatElement(0xAB, count: 60))
                    switch sender.send(ping, payload, to: PeerID(2)) {
                    case .queued: sequence += 1
                    case .dropped(.queueFull): await Task.yield()  // back-pressure: try again
                    case let .dropped(reason): Issue.record("unexpected drop: \(reason)"); return
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(receiver.stats.received == count)
        #expect(receiver.stats.rejected == 0)
        await sender.shutdown()
        await receiver.shutdown()
    }

    @Test func shutdownWithSendsPendingIsClean() async throws {
        let a = try startTransport(1) { $0.sendQueueMessagesMax = 64 }
        // Nobody listens here: sends queue up, then drop once the queue is full.
        try await a.setPeers([PeerID(2): "tcp://127.0.0.1:1"])
        let waiting = Task { try await a.request(ping, [], to: PeerID(2), timeout: .seconds(30)) }
        try await eventually("the request to be pending") { a.pending.withLock { $0.count } == 1 }
        var outcomes: [SendOutcome] = []
        for _ in 0..<200 { outcomes.append(a.send(ping, [1, 2, 3], to: PeerID(2))) }
        #expect(outcomes.contains(.queued) && outcomes.contains(.dropped(.queueFull)))
        #expect(a.stats.droppedQueueFull > 0)

        await a.shutdown()
        await #expect(throws: TransportError.shutDown) { _ = try await waiting.value }
        var iterator = a.messages.makeAsyncIterator()
        #expect(await iterator.next() == nil, "messages ends after shutdown")
        #expect(a.send(ping, [], to: PeerID(2)) == .dropped(.shutDown))
        await a.shutdown()  // idempotent
    }
}
