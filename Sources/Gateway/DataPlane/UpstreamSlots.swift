import HTTPTypes
import Synchronization

/// How many provider calls one node keeps open to one provider host: connections, and
/// calls waiting for one. Past both, a call is refused at once with 503 and `Retry-After`
/// instead of joining a queue without bound (a stream holds its connection for as long
/// as it runs, so 4,000 slow streams used to wait on 512 connections until they timed out).
public struct UpstreamLimits: Sendable, Equatable {
    /// `upstream.connections_per_host`: HTTP/1.1 connections per provider host.
    public static let connectionsPerHostDefault = 512
    /// `upstream.queued_per_host`: calls that may wait for a connection to a host.
    public static let queuedPerHostDefault = 512
    /// The bounds either key accepts.
    public static let connectionsPerHostRange = 1...65_536
    public static let queuedPerHostRange = 0...1_000_000

    public var connectionsPerHost: Int
    public var queuedPerHost: Int

    public init(connectionsPerHost: Int = connectionsPerHostDefault, queuedPerHost: Int = queuedPerHostDefault) {
        self.connectionsPerHost = connectionsPerHost
        self.queuedPerHost = queuedPerHost
    }

    /// Calls open to one host at most: on a connection or waiting for one.
    var callsPerHostMax: Int { connectionsPerHost + queuedPerHost }
}

/// The provider calls open per host, bounded by `UpstreamLimits.callsPerHostMax`.
final class UpstreamSlots: Sendable {
    let limit: Int
    private let open = Mutex<[String: Int]>([:])

    init(_ limits: UpstreamLimits) { limit = limits.callsPerHostMax }

    /// A slot for one call to the host of `url`, or nil when the host has `limit` open.
    func take(for url: String) -> Slot? {
        let host = Self.host(of: url)
        let taken = open.withLock { open -> Bool in
            let count = open[host, default: 0]
            guard count < limit else { return false }
            open[host] = count + 1
            return true
        }
        return taken ? Slot(host: host, slots: self) : nil
    }

    /// Calls open to `host` now.
    func count(_ host: String) -> Int { open.withLock { $0[host] ?? 0 } }

    fileprivate func release(_ host: String) {
        open.withLock { open in
            let count = (open[host] ?? 1) - 1
            open[host] = count > 0 ? count : nil
        }
    }

    /// `scheme://host:port` of `url`, lowercased: what the connection pool keys on.
    static func host(of url: String) -> String {
        let bytes = Array(url.utf8)
        guard let colon = bytes.indices.first(where: { bytes[$0...].starts(with: "://".utf8) }) else { return url }
        let end = bytes[(colon + 3)...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self).lowercased()
    }

    /// One open call. Released once: by `release()` when the call ends, else when the last
    /// reference goes (a stream whose body never ran).
    final class Slot: Sendable {
        let host: String
        private let slots: UpstreamSlots
        private let released = Atomic(false)

        fileprivate init(host: String, slots: UpstreamSlots) {
            self.host = host
            self.slots = slots
        }

        func release() {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            slots.release(host)
        }

        deinit { release() }
    }
}

extension GatewayError {
    /// The answer when `host` has as many calls open as `UpstreamLimits` allows.
    static func upstreamBusy(_ host: String, open: Int, model: String) -> GatewayError {
        GatewayError(
            status: .serviceUnavailable, type: "overloaded_error", code: "upstream_busy",
            message: "\(open) calls to \(host) are open or waiting on this node (upstream.connections_per_host + upstream.queued_per_host); \(model) was not called; retry shortly",
            retryAfter: HTTPServerLimits.retryAfterSeconds)
    }
}
