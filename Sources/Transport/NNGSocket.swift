private import CNNG

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thin, owned nng socket: the only place that calls nng's socket functions. nng sockets
/// are thread-safe, so this may be shared.
final class NNGSocket: @unchecked Sendable {
    enum Role { case push, pull }

    fileprivate let socket: nng_socket
    let role: Role
    /// Pipes (connections that finished nng's handshake) open on this socket right now.
    let pipes = PipeCount()

    init(_ role: Role) throws(TransportError) {
        var socket = nng_socket()
        let rc = role == .push ? nng_push0_open(&socket) : nng_pull0_open(&socket)
        try NNGSocket.check(rc, "open \(role) socket")
        self.socket = socket
        self.role = role
        // `pipes` lives as long as this object, which outlives the socket's callbacks: a
        // socket is closed only through `close()`, and nng runs no callback after it.
        let counter = Unmanaged.passUnretained(pipes).toOpaque()
        for event in [NNG_PIPE_EV_ADD_POST, NNG_PIPE_EV_REM_POST] {
            let rc = nng_pipe_notify(socket, event, { _, event, argument in
                let pipes = Unmanaged<PipeCount>.fromOpaque(argument!).takeUnretainedValue()
                pipes.add(event == NNG_PIPE_EV_ADD_POST ? 1 : -1)
            }, counter)
            try NNGSocket.check(rc, "watch pipes of \(role) socket")
        }
    }

    static func check(_ rc: Int32, _ operation: String) throws(TransportError) {
        guard rc != 0 else { return }
        throw .nng(operation: operation, code: rc, message: String(cString: nng_strerror(rc)))
    }

    func setMilliseconds(_ option: Option, _ value: Int) throws(TransportError) {
        try NNGSocket.check(nng_socket_set_ms(socket, option.name, nng_duration(value)), "set \(option.name)")
    }

    func setSize(_ option: Option, _ value: Int) throws(TransportError) {
        try NNGSocket.check(nng_socket_set_size(socket, option.name, value), "set \(option.name)")
    }

    func setInt(_ option: Option, _ value: Int) throws(TransportError) {
        try NNGSocket.check(nng_socket_set_int(socket, option.name, Int32(value)), "set \(option.name)")
    }

    /// The nng options Weir sets explicitly (nng's defaults are unlimited sizes and a fixed
    /// 1 s reconnect without back-off).
    enum Option {
        case receiveSizeMax, reconnectMinimum, reconnectMaximum, sendBuffer, receiveBuffer

        var name: String {
            switch self {
            case .receiveSizeMax: NNG_OPT_RECVMAXSZ
            case .reconnectMinimum: NNG_OPT_RECONNMINT
            case .reconnectMaximum: NNG_OPT_RECONNMAXT
            case .sendBuffer: NNG_OPT_SENDBUF
            case .receiveBuffer: NNG_OPT_RECVBUF
            }
        }
    }

    /// Starts listening on `address` and returns the TCP port actually bound (useful with
    /// port 0).
    func listen(_ address: String) throws(TransportError) -> Int {
        var listener = nng_listener()
        try NNGSocket.check(nng_listener_create(&listener, socket, address), "listen on \(address)")
        try NNGSocket.check(nng_listener_start(listener, 0), "listen on \(address)")
        var port: Int32 = 0
        try NNGSocket.check(nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port), "read bound port")
        return Int(port)
    }

    /// Dials `address` in the background; nng keeps reconnecting with back-off.
    func dial(_ address: String) throws(TransportError) {
        try NNGSocket.check(nng_dial(socket, address, nil, Int32(NNG_FLAG_NONBLOCK)), "dial \(address)")
    }

    /// Queues `bytes` without blocking. Returns false when the queue is full or no peer is
    /// connected and the queue is full (nng's EAGAIN); throws on any other failure.
    func trySend(_ bytes: [UInt8]) throws(TransportError) -> Bool {
        var message: OpaquePointer?
        try NNGSocket.check(nng_msg_alloc(&message, 0), "allocate message")
        let appended = bytes.withUnsafeBytes { raw in nng_msg_append(message, raw.baseAddress, raw.count) }
        if appended != 0 {
            nng_msg_free(message)
            try NNGSocket.check(appended, "build message")
        }
        let rc = nng_sendmsg(socket, message, Int32(NNG_FLAG_NONBLOCK))
        if rc == 0 { return true }
        nng_msg_free(message)  // a message that failed to send is still ours
        if rc == Int32(NNG_EAGAIN.rawValue) { return false }
        try NNGSocket.check(rc, "send")
        return false
    }

    /// Closes the socket: pending sends are discarded, pending receives end with ECLOSED.
    /// May block briefly while nng tears pipes down; call it off the cooperative pool.
    func close() {
        _ = nng_close(socket)
    }

    /// Starts one asynchronous receive into `aio`.
    func receive(into aio: AsyncIO) {
        aio.beginOperation()
        nng_recv_aio(socket, aio.aio)
    }
}

/// A count of a socket's open pipes, kept by nng's pipe callbacks.
final class PipeCount: Sendable {
    private let count = Atomic<Int>(0)
    private let removals = Atomic<Int>(0)

    /// Pipes open now.
    var value: Int { count.load(ordering: .acquiring) }
    /// Pipes closed since the socket opened.
    var removed: Int { removals.load(ordering: .acquiring) }

    fileprivate func add(_ delta: Int) {
        if delta < 0 { removals.add(1, ordering: .releasing) }
        count.add(delta, ordering: .releasing)
    }
}

/// An nng asynchronous I/O handle whose completion runs a Swift closure on nng's thread.
/// The closure must not block.
///
/// Lifetime: every operation started through `beginOperation()` holds one retain on this
/// object, and the C callback consumes it, so the object outlives every callback even if
/// its owner lets go first. `onComplete` is set before the first operation and cleared by
/// `stop()`; nng orders an operation's start before its callback, so the field needs no
/// lock of its own.
final class AsyncIO: @unchecked Sendable {
    fileprivate var aio: OpaquePointer?
    var onComplete: (@Sendable (AsyncIO) -> Void)?

    init() throws(TransportError) {
        let rc = nng_aio_alloc(&aio, { argument in
            // Balances the retain taken by `beginOperation()`.
            let me = Unmanaged<AsyncIO>.fromOpaque(argument!).takeRetainedValue()
            me.onComplete?(me)
        }, Unmanaged.passUnretained(self).toOpaque())
        try NNGSocket.check(rc, "allocate aio")
    }

    /// Call immediately before starting an operation on this aio.
    fileprivate func beginOperation() {
        _ = Unmanaged.passRetained(self)
    }

    /// The operation's result: nil on success, or nng's error code.
    var failure: Int32? {
        let rc = nng_aio_result(aio)
        return rc == 0 ? nil : rc
    }

    /// True when the failure means the socket closed or the operation was cancelled.
    static func isTerminal(_ code: Int32) -> Bool {
        code == Int32(NNG_ECLOSED.rawValue) || code == Int32(NNG_ECANCELED.rawValue)
    }

    /// Takes the received message's body and frees the message.
    func takeMessageBytes() -> [UInt8] {
        guard let message = nng_aio_get_msg(aio) else { return [] }
        defer { nng_msg_free(message) }
        let count = nng_msg_len(message)
        guard count > 0, let body = nng_msg_body(message) else { return [] }
        return Array(UnsafeRawBufferPointer(start: body, count: count))
    }

    /// Aborts the operation in flight, waits for its callback to finish and prevents new
    /// operations. Blocks: call it off the cooperative pool, never from the callback.
    /// The callback of the aborted operation still runs (with ECANCELED) before this
    /// returns, so `onComplete` is cleared only afterwards.
    func stop() {
        nng_aio_stop(aio)
        onComplete = nil  // breaks the owner → aio → closure → owner cycle
    }

    deinit {
        // May run inside our own callback (when it dropped the last reference); reap is
        // the release nng allows there. It never blocks.
        nng_aio_reap(aio)
    }
}
