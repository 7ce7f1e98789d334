import Testing
@testable import Transport

let secret = Array("a cluster secret of enough bytes".utf8)
let ping = MessageType(1)
let pong = MessageType(2)

/// Starts a transport for `node` on a free loopback port.
func startTransport(
    _ node: UInt64, cluster: String = "test-cluster", secret: [UInt8] = secret,
    port: Int = 0, configure: (inout TransportConfiguration) -> Void = { _ in }
) throws -> PeerTransport {
    var configuration = TransportConfiguration(
        nodeID: PeerID(node), clusterID: cluster, clusterSecret: secret,
        listenAddress: "tcp://127.0.0.1:\(port)")
    configure(&configuration)
    return try PeerTransport(configuration: configuration)
}

func address(of transport: PeerTransport) -> String { "tcp://127.0.0.1:\(transport.listenPort)" }

/// Waits for `condition` with a deadline instead of a fixed sleep.
func eventually(
    within timeout: Duration = .seconds(10), _ what: String,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out waiting for: \(what)")
    throw CancellationError()
}

/// Reads the next message, failing the test if none arrives in time.
func nextMessage(_ transport: PeerTransport, within timeout: Duration = .seconds(10)) async throws -> Envelope {
    try await withThrowingTaskGroup(of: Envelope?.self) { group in
        group.addTask {
            var iterator = transport.messages.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let envelope = first else {
            Issue.record("no message arrived within \(timeout)")
            throw CancellationError()
        }
        return envelope
    }
}

/// Calls `send` every 20 ms until `receiver` gets a message, and returns that message:
/// for links that must (re)connect before anything gets through.
func keepSending(
    until receiver: PeerTransport, within timeout: Duration = .seconds(15), _ send: @escaping @Sendable () -> Void
) async throws -> Envelope {
    try await withThrowingTaskGroup(of: Envelope?.self) { group in
        group.addTask { try await nextMessage(receiver, within: timeout) }
        group.addTask {
            while !Task.isCancelled {
                send()
                try await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }
        defer { group.cancelAll() }
        for try await case let envelope? in group { return envelope }
        throw CancellationError()
    }
}
