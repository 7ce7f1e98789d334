import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Gateway

/// The console's sign-in over HTTP: a browser on this gateway signs in; a form posted from
/// another site does not (it would sign the victim in as the attacker).
@Suite struct ConsoleRoutesTests {
    @Test func signInComesFromThisGatewayOnly() async throws {
        let harness = try await AdminHarness()
        let router = Router()
        harness.routes.register(on: router)
        ConsoleRoutes(admin: harness.routes, sessions: AdminHarness.sessions).register(on: router)
        let form = ByteBuffer(string: "token=" + AdminHarness.superSecret)
        let answers = try await Application(router: router).test(.router) { client in
            var answers: [(HTTPResponse.Status, String?)] = []
            for site in ["same-origin", "cross-site", "none"] {
                let response = try await client.execute(
                    uri: "/admin/signin", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("Sec-Fetch-Site")!: site], body: form)
                answers.append((response.status, response.headers[.setCookie]))
            }
            return answers
        }
        #expect(answers[0].0 == .seeOther && answers[0].1?.hasPrefix("weir_session=") == true)
        #expect(answers[1].0 == .forbidden && answers[1].1 == nil, "a sign-in posted by another site")
        #expect(answers[2].0 == .seeOther && answers[2].1 != nil, "typed or bookmarked")
    }
}
