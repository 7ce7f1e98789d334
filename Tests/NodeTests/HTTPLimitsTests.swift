import Foundation
import NodeTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP listener's limits on a real node: a connection over `http.connections_max` is
/// a 503 with `Retry-After`, a slowloris or a stalled body is closed, an oversized header
/// is refused, and the node keeps serving everyone else.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTPLimitsTests {
    private func withNode(_ settings: [String], _ body: (_ port: Int, _ token: String) async throws -> Void) async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-limits-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let node = try WeirProcess(["serve", "--data-dir", dataDir, "--http-port", "0", "--peer-listen", "tcp://127.0.0.1:0"]
            + settings.flatMap { ["--set", $0] })
        defer { node.signal(SIGKILL) }
        let port = Int(try await node.awaitLog(#"http_port=(\d+)"#))!
        let tokenFile = dataDir + "/admin.token"
        try await waitUntil("the admin token is written", within: .seconds(20)) { FileManager.default.fileExists(atPath: tokenFile) }
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await body(port, token)
        #expect(try RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200"), "the node still serves")
    }

    @Test func aConnectionOverTheCapIsToldToRetry() async throws {
        try await withNode(["http.connections_max=4"]) { port, _ in
            var held = try (0..<4).map { _ in try RawConnection(port: port) }
            try await waitUntil("four connections are counted", within: .seconds(10)) {
                try RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 503")
            }
            let refused = try RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 503") && refused.lowercased().contains("retry-after: 1"), "\(refused)")
            held.removeAll()
            try await waitUntil("closed connections give their places back", within: .seconds(10)) {
                try RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 200")
            }
        }
    }

    @Test func aSlowlorisIsClosedWhileOthersAreServed() async throws {
        try await withNode(["http.idle_timeout_seconds=1", "http.body_timeout_seconds=1"]) { port, token in
            let slow = try RawConnection(port: port)
            try slow.send("GET /health/live HTTP/1.1\r\nHost: x\r\n")
            let started = ContinuousClock.now
            var closed = false
            // One header byte every 100 ms: the head never completes; bounded to 10 s.
            while ContinuousClock.now - started < .seconds(10) {
                guard (try? slow.send("X")) != nil, !slow.peerClosed(waiting: .milliseconds(100)) else { closed = true; break }
                let other = try RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(other.hasPrefix("HTTP/1.1 200"), "others are served meanwhile")
            }
            #expect(closed, "the dribbling connection is closed")

            let stalled = try RawConnection(port: port)
            try stalled.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: 1000\r\n\r\n{\"model\":")
            #expect(stalled.peerClosed(waiting: .seconds(10)), "a body that stalls is closed")
        }
    }

    @Test func anOversizedHeaderIsRefused() async throws {
        try await withNode(["http.header_bytes_max=4096"]) { port, _ in
            let answer = (try? RawConnection(port: port).exchange("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 40_000))\r\n\r\n")) ?? ""
            #expect(!answer.hasPrefix("HTTP/1.1 200") && !answer.hasPrefix("HTTP/1.1 500"), "\(answer.prefix(200))")
        }
    }
}

/// A blocking loopback TCP connection with a receive timeout, for driving a server byte by byte.
final class RawConnection {
    private let socket: Int32

    init(port: Int, timeout: Duration = .seconds(10)) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var noSignal: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_KEEPALIVE, &noSignal, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(timeout)
        guard connected == 0 else {
            close(socket)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(socket) }

    private func setTimeout(_ timeout: Duration) {
        let micro = timeout.components.seconds * 1_000_000 + timeout.components.attoseconds / 1_000_000_000_000
        var value = timeval(tv_sec: Int(micro / 1_000_000), tv_usec: Int(micro % 1_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw POSIXError(.EPIPE) }
    }

    /// Sends `request` and reads until the peer closes, the timeout passes or 64 KiB arrived.
    func exchange(_ request: String) throws -> String {
        try send(request)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while received.count < 65_536 {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
            if let text = String(validating: received, as: UTF8.self), text.contains("\r\n\r\n"), Self.complete(text) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether a response with a `Content-Length` has all of its body.
    private static func complete(_ text: String) -> Bool {
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return false }
        return text.utf8.count - text[..<split.upperBound].utf8.count >= length
    }

    /// True when the peer has closed (or reset) the connection within `waiting`.
    func peerClosed(waiting: Duration) -> Bool {
        setTimeout(waiting)
        defer { setTimeout(.seconds(10)) }
        var byte: UInt8 = 0
        let count = recv(socket, &byte, 1, 0)
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}
