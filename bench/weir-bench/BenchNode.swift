import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ArgumentParser
import NodeTestSupport

/// A release weir node for the benchmarks: started on a free port with the demo provider
/// pointed at the bench's upstream, and a prepared caller.
enum BenchNode {
    /// Starts a node and prepares its caller; the caller stops it.
    static func start(
        _ client: HTTPClient, binary: String, launcher: [String] = [], directory: String, upstream: Int, recording: Bool, dlp: Bool,
        extra: [String] = [], startup: Duration = .seconds(30)
    ) async throws -> (pid: pid_t, port: Int, secret: String) {
        let port = try freeLoopbackPort()
        let pid = try spawnLogged(launcher + [binary, "serve", "--data-dir", directory, "--http-port", "\(port)", "--peer-listen", "tcp://127.0.0.1:0", "--log-level", "warning",
                                   "--set", "providers.demo_upstream=http://127.0.0.1:\(upstream)/v1", "--set", "usage.recording=\(recording)"] + extra,
                            output: directory + ".log")
        do {
            return (pid, port, try await prepare(client, port: port, directory: directory, dlp: dlp, startup: startup))
        } catch {
            kill(pid, SIGTERM)
            throw error
        }
    }

    /// A caller bound to a user (in an org), an app and a principal, with a quota on each of
    /// the six lanes (never reached) and the demo prices; returns its token.
    private static func prepare(_ client: HTTPClient, port: Int, directory: String, dlp: Bool, startup: Duration) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: startup)
        var token: String?
        while token == nil {
            guard ContinuousClock.now < deadline else { throw ValidationError("weir did not start; see its log in \(directory)/..") }
            token = (try? String(contentsOfFile: directory + "/admin.token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let admin = token else { throw ValidationError("weir wrote no admin token") }
        // The demo provider is registered right after the token.
        while (try await call(client, port: port, "GET", "/admin/api/deployments", admin, nil)["items"] as? [Any])?.count != 5 {
            guard ContinuousClock.now < deadline else { throw ValidationError("the demo provider was not registered") }
            try await Task.sleep(for: .milliseconds(100))
        }
        if dlp {
            _ = try await call(client, port: port, "POST", "/admin/api/dlp", admin,
                               #"{"id":"dlp:bench","enabled":true,"action":"redact","detectors":["email","phone","credit_card","ssn","ip_address","iban","api_key"]}"#)
            _ = try await call(client, port: port, "POST", "/admin/api/settings", admin, #"{"cache_ttl_seconds":0}"#)
        }
        for (path, body) in [
            ("orgs", dlp ? #"{"id":"org:bench","name":"Bench","slug":"bench","dlp":"dlp:bench"}"# : #"{"id":"org:bench","name":"Bench","slug":"bench"}"#), ("users", #"{"id":"user:bench","organization":"org:bench"}"#),
            ("apps", #"{"id":"app:bench"}"#), ("principals", #"{"id":"agent:bench","app":"app:bench"}"#),
        ] { _ = try await call(client, port: port, "POST", "/admin/api/" + path, admin, body) }
        let issued = try await call(client, port: port, "POST", "/admin/api/tokens", admin, #"{"principal":"agent:bench","user":"user:bench","app":"app:bench"}"#)
        guard let secret = issued["secret"] as? String, let id = (issued["token"] as? [String: Any])?["id"] as? String else {
            throw ValidationError("could not issue the bench token: \(issued)")
        }
        for (lane, subject) in [("token", id), ("principal", "agent:bench"), ("user", "user:bench"), ("app", "app:bench"), ("org", "org:bench"), ("key", "key:demo:mockllm")] {
            _ = try await call(client, port: port, "POST", "/admin/api/quotas", admin,
                               #"{"lane":"\#(lane)","subject":"\#(subject)","name":"bench","period":"day","max_requests":1000000000,"max_usd":1000000}"#)
        }
        return secret
    }

    static func call(_ client: HTTPClient, port: Int, _ method: String, _ path: String, _ token: String, _ body: String?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
    }

}
