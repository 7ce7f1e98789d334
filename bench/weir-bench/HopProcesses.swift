import ArgumentParser
import Foundation
import NodeTestSupport

/// The processes around the gateway benchmark, each in its own process so that none of
/// them shares the node's runtime: nginx answering a fixed chat completion (the upstream),
/// haproxy passing requests straight to it (the hop to beat), and wrk (the load).
enum HopProcesses {
    /// The chat completion nginx answers to every request, with usage for pricing.
    static let completion = #"{"id":"chatcmpl-bench","object":"chat.completion","created":1800000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The report is summarised."},"finish_reason":"stop"}],"usage":{"prompt_tokens":260,"completion_tokens":6,"total_tokens":266}}"#

    /// A streamed chat completion: `chunks` content events, the usage event and `[DONE]`.
    static func streamedCompletion(chunks: Int) -> String {
        let chunk = #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1800000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}"#
        let usage = #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1800000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":\#(chunks),"total_tokens":\#(chunks + 8)}}"#
        return String(repeating: chunk + "\n\n", count: chunks) + usage + "\n\ndata: [DONE]\n\n"
    }

    /// Starts nginx with one worker on a free loopback port; returns its pid and port. With
    /// `streamSeconds`, it answers `streamedCompletion(chunks: 50)` as an event stream let
    /// out by `limit_rate` over about that many seconds (in bursts, as nginx paces), a slow
    /// streaming upstream that costs next to nothing.
    static func nginx(directory: String, streamSeconds: Int? = nil) throws -> (pid: pid_t, port: Int) {
        let port = try freeLoopbackPort()
        let config = directory + "/nginx.conf"
        var answer = "default_type application/json; return 200 '\(completion)';"
        if let streamSeconds {
            // Longer than a config token may be (4 kB): served from a file; a POST to a file
            // is a 405, which error_page turns into the file fetched by GET.
            let stream = streamedCompletion(chunks: 50)
            try stream.write(toFile: directory + "/stream.sse", atomically: true, encoding: .utf8)
            answer = "root \(directory); default_type text/event-stream; limit_rate \(max(1, stream.utf8.count / max(1, streamSeconds))); "
                + "error_page 405 =200 /stream.sse; try_files /stream.sse =404;"
        }
        try """
            worker_processes 1;
            daemon off;
            pid \(directory)/nginx.pid;
            error_log \(directory)/nginx-error.log warn;
            events { worker_connections 16384; }
            http {
                access_log off;
                client_body_temp_path \(directory)/nginx-body;
                client_body_buffer_size 64k;
                keepalive_requests 100000000;
                server {
                    listen 127.0.0.1:\(port) backlog=4096;
                    location / {
                        \(answer)
                    }
                }
            }

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let pid = try spawnLogged(["/usr/sbin/nginx", "-p", directory, "-c", config], output: directory + "/nginx.log")
        try waitForPort(port, process: "nginx", log: directory + "/nginx-error.log")
        return (pid, port)
    }

    /// Starts haproxy passing every request on a free port to `upstream`.
    static func haproxy(directory: String, upstream: Int) throws -> (pid: pid_t, port: Int) {
        let port = try freeLoopbackPort()
        let config = directory + "/haproxy.cfg"
        try """
            global
                maxconn 8000
            defaults
                mode http
                timeout connect 2s
                timeout client 60s
                timeout server 60s
                http-reuse always
            frontend passthrough
                bind 127.0.0.1:\(port)
                default_backend upstream
            backend upstream
                server upstream 127.0.0.1:\(upstream)

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let pid = try spawnLogged(["/usr/sbin/haproxy", "-f", config, "-db"], output: directory + "/haproxy.log")
        try waitForPort(port, process: "haproxy", log: directory + "/haproxy.log")
        return (pid, port)
    }

    /// Waits up to 10 s for something to listen on `port`.
    static func waitForPort(_ port: Int, process: String, log: String) throws {
        let deadline = Date().addingTimeInterval(10)
        while !isListening(port) {
            guard Date() < deadline else {
                throw ValidationError("\(process) is not listening on \(port); its log:\n" + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
            }
            usleep(20_000)
        }
    }
}

/// One wrk run's figures.
struct WrkResult {
    var requests = 0
    var seconds = 0.0
    /// Socket errors, timeouts and answers of status 400 or above.
    var failures = 0
    var p50 = 0.0  // µs
    var p99 = 0.0  // µs
    var mean = 0.0  // µs
    /// The failures by kind, as wrk counts them: connect, read, write, timeout (one per
    /// connection per 2 s whose request is older than the timeout), status (400 and above).
    var kinds: [String: Int] = [:]

    /// "connect 3, timeout 12" (the kinds that occurred), or "–".
    var kindsText: String {
        let named = ["connect", "read", "write", "timeout", "status"].compactMap { kind in kinds[kind].flatMap { $0 > 0 ? "\(kind) \($0)" : nil } }
        return named.isEmpty ? "–" : named.joined(separator: ", ")
    }

    var rps: Double { seconds > 0 ? Double(requests) / seconds : 0 }
}

/// wrk, one thread, posting the same chat request with a bearer token.
struct Wrk {
    let directory: String
    let body: String

    /// Runs wrk against `url` with `connections` open for `seconds`; `token` is sent as
    /// the bearer.
    func run(_ url: String, token: String, connections: Int, seconds: Int) throws -> WrkResult {
        let script = directory + "/wrk-\(UUID().uuidString).lua"
        try luaScript(token: token).write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "--timeout", "10s", "-s", script, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("wrk-result ") }) else {
            throw ValidationError("wrk printed no result:\n\(output)")
        }
        let fields = Dictionary(line.dropFirst("wrk-result ".count).split(separator: " ").compactMap { pair -> (String, Double)? in
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let value = Double(parts[1]) else { return nil }
            return (String(parts[0]), value)
        }, uniquingKeysWith: { a, _ in a })
        let kinds = ["connect", "read", "write", "timeout", "status"].reduce(into: [String: Int]()) { $0[$1] = Int(fields[$1] ?? 0) }
        return WrkResult(requests: Int(fields["requests"] ?? 0), seconds: (fields["duration_us"] ?? 0) / 1e6,
                         failures: Int(fields["failures"] ?? 0), p50: fields["p50_us"] ?? 0, p99: fields["p99_us"] ?? 0,
                         mean: fields["mean_us"] ?? 0, kinds: kinds)
    }

    private func luaScript(token: String) -> String {
        let quoted = body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return """
            wrk.method = "POST"
            wrk.body = '\(quoted)'
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer \(token)"
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("wrk-result requests=%d duration_us=%d failures=%d p50_us=%d p99_us=%d mean_us=%d connect=%d read=%d write=%d timeout=%d status=%d\\n",
                summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
                latency:percentile(50), latency:percentile(99), math.floor(latency.mean), e.connect, e.read, e.write, e.timeout, e.status))
            end

            """
    }
}
