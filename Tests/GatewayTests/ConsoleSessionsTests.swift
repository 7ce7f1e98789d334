import Foundation
import HTTPTypes
import Testing
@testable import Gateway

/// The console's signed cookie and CSRF tokens.
@Suite struct ConsoleSessionsTests {
    let sessions = ConsoleSessions(secret: Array("a cluster secret of enough length".utf8))

    @Test func aCookieNamesItsTokenUntilItExpiresAndCannotBeForged() {
        let cookie = sessions.issue(tokenID: "tok_1", now: 1_000)
        #expect(sessions.verify(cookie, now: 2_000) == "tok_1")
        #expect(sessions.verify(cookie, now: 1_000 + ConsoleSessions.lifetimeMilliseconds) == nil, "expired")
        #expect(sessions.verify(cookie.replacingOccurrences(of: "tok_1", with: "tok_2"), now: 2_000) == nil, "another token's id")
        let later = cookie.split(separator: ".")
        #expect(sessions.verify("\(later[0]).99999999999999.\(later[2])", now: 2_000) == nil, "a longer expiry")
        #expect(ConsoleSessions(secret: Array("another cluster's secret, as long".utf8)).verify(cookie, now: 2_000) == nil, "another cluster")
        #expect(sessions.verify("garbage", now: 2_000) == nil)
    }

    @Test func csrfTokensBelongToOneSession() {
        let a = sessions.issue(tokenID: "tok_1", now: 1_000), b = sessions.issue(tokenID: "tok_2", now: 1_000)
        #expect(sessions.checkCSRF(sessions.csrf(for: a), session: a))
        #expect(!sessions.checkCSRF(sessions.csrf(for: b), session: a))
        #expect(!sessions.checkCSRF(nil, session: a) && !sessions.checkCSRF("00", session: a))
    }

    /// A signed-in browser reads the JSON, YAML and CSV answers with its cookie (the
    /// console's links), within its token's scopes; it never writes with it.
    @Test func theSessionCookieReadsTheAPIButNeverWrites() async throws {
        let harness = try await AdminHarness()
        _ = try await harness.addToken("tok_reader", scopes: ["admin.read"])
        _ = try await harness.addToken("tok_invoker", scopes: ["model.invoke"])
        @Sendable func cookie(_ token: String) -> HTTPFields {
            [.cookie: "other=1; weir_session=\(AdminHarness.sessions.issue(tokenID: token, now: AdminHarness.now))"]
        }
        let forged = [HTTPField.Name.cookie: "weir_session=tok_super.99999999999999.00"] as HTTPFields
        let statuses = try await harness.run { client -> [HTTPResponse.Status] in
            var statuses: [HTTPResponse.Status] = []
            for (method, uri, headers) in [
                (HTTPRequest.Method.get, "/admin/api/users", cookie("tok_super")), (.get, "/admin/api/users", cookie("tok_reader")),
                (.get, "/admin/api/settings", cookie("tok_reader")), (.post, "/admin/api/users", cookie("tok_super")),
                (.get, "/admin/api/users", cookie("tok_invoker")), (.get, "/admin/api/users", cookie("tok_gone")), (.get, "/admin/api/users", forged),
            ] {
                statuses.append(try await client.call(method, uri, token: nil, body: method == .post ? #"{"id":"user:x"}"# : nil, headers: headers).status)
            }
            return statuses
        }
        // A write needs the bearer token (the console writes through its CSRF-checked forms).
        #expect(statuses == [.ok, .ok, .ok, .unauthorized, .unauthorized, .unauthorized, .unauthorized])
    }
}
