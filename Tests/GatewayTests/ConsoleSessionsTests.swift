import Foundation
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
}
