import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago, for processes that must be told
/// their peers' ports before they start. Taken below the kernel's ephemeral range
/// (32768–60999 here): a port the kernel handed out for port 0 is also what it hands the
/// next outgoing connection as its source port, so a node dialling a peer could take the
/// HTTP port another node was about to bind. Ports are tried in turn from a random start,
/// so one test process never hands out the same one twice.
public func freeLoopbackPort() throws -> Int {
    for _ in 0..<PortPicker.span {
        let port = PortPicker.next()
        if portIsFree(port) { return port }
    }
    throw POSIXError(.EADDRINUSE)
}

enum PortPicker {
    static let first = 20_000
    static let span = 12_000
    private static let counter = Mutex(Int.random(in: 0..<span))

    static func next() -> Int {
        counter.withLock { value in
            value = (value + 1) % span
            return first + value
        }
    }
}

private func portIsFree(_ port: Int) -> Bool {
    withLoopbackSocket(port) { fd, address, length in bind(fd, address, length) } == 0
}

/// True when a connection to `port` on 127.0.0.1 is accepted (something listens there).
public func isListening(_ port: Int) -> Bool {
    withLoopbackSocket(port) { fd, address, length in connect(fd, address, length) } == 0
}

/// Runs `body` with a new TCP socket and the address 127.0.0.1:`port`, then closes the
/// socket; -1 when no socket could be made.
private func withLoopbackSocket(_ port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// Starts `arguments[0]` with `arguments`, stdin from /dev/null and stdout and stderr into
/// the file `output`, without waiting. Spawned with posix_spawn: Foundation's `Process`
/// does not notice the exit of a child whose own children live on. `environment` nil
/// passes this process's own.
public func spawnLogged(_ arguments: [String], environment: [String: String]? = nil, output: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
    guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
    return pid
}
