import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The TCP connections peers opened to a listener, found through the process's open
/// descriptors, so a closing listener can end them itself before nng closes its pipes.
///
/// Why: a connection that ends this way closes on nng's error path (its receive sees
/// end-of-stream), not through `nng_close` while a receive may be finishing, which in nng
/// 1.5.2 can lose that receive and hang the close (nanomsg/nng#1636, fixed in 1.6). It
/// is one half of a shutdown that keeps traffic off closing connections; the goodbye in
/// `PeerTransport+Leaving.swift` is the other. Linux only (`/proc/self/fd`), like Weir.
enum AcceptedConnections {
    /// Shuts down, in both directions, every connected TCP socket of this process whose
    /// local port is `port`: the connections accepted by a listener on that port (an
    /// outgoing connection never has a listening port as its local port). The descriptors
    /// stay open; nng still owns and closes them. Returns how many were shut down.
    @discardableResult
    static func shutDown(localPort port: Int) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return 0 }
        var count = 0
        for name in names {
            guard let descriptor = Int32(name), isAcceptedConnection(descriptor, localPort: port) else { continue }
            if Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) == 0 { count += 1 }
        }
        return count
    }

    private static func isAcceptedConnection(_ descriptor: Int32, localPort port: Int) -> Bool {
        guard localPort(of: descriptor) == port else { return false }
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 else { return false }
        return listening == 0
    }

    /// The local TCP port of an IPv4 or IPv6 socket, or nil for anything else.
    private static func localPort(of descriptor: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard rc == 0 else { return nil }
        var type: Int32 = 0
        var typeLength = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &typeLength) == 0, type == Int32(SOCK_STREAM.rawValue)
        else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return nil
        }
    }
}
