import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Gateway

/// What Hummingbird refuses by itself (no route, a method the route lacks, a body too
/// large) is answered in the endpoint's dialect with a JSON body, not a bare status.
@Suite struct ErrorDialectTests {
    private func app() -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(ErrorDialectMiddleware())
        router.get("/v1/models") { _, _ in "models" }
        router.post("/admin/api/big") { request, _ in
            _ = try await request.body.collect(upTo: 4)
            return "small"
        }
        return Application(router: router)
    }

    private func error(_ response: TestResponse) -> [String: Any] {
        let body = try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
        return body?["error"] as? [String: Any] ?? [:]
    }

    @Test func eachPrefixAnswersInItsOwnDialect() async throws {
        try await app().test(.router) { client in
            let openAI = try await client.execute(uri: "/v1/nope", method: .post)
            #expect(openAI.status == .notFound)
            #expect(error(openAI)["code"] as? String == "unknown_url")
            #expect(error(openAI)["type"] as? String == "invalid_request_error")
            #expect((error(openAI)["message"] as? String)?.contains("POST /v1/nope") == true)

            let anthropic = try await client.execute(uri: "/v1/messages/nope", method: .post)
            let whole = try JSONSerialization.jsonObject(with: Data(String(buffer: anthropic.body).utf8)) as? [String: Any]
            #expect(anthropic.status == .notFound && whole?["type"] as? String == "error")
            #expect(error(anthropic)["type"] as? String == "not_found_error")

            let admin = try await client.execute(uri: "/admin/api/nope", method: .get)
            #expect(admin.status == .notFound && error(admin)["type"] as? String == "not_found")
            #expect(admin.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test func aMethodTheRouteLacksAndAnOversizeBodyAreExplainedToo() async throws {
        try await app().test(.router) { client in
            let wrongMethod = try await client.execute(uri: "/v1/models", method: .delete)
            #expect(wrongMethod.status == .notFound)
            #expect((error(wrongMethod)["message"] as? String)?.contains("GET /openapi.json lists every route") == true)

            let large = try await client.execute(uri: "/admin/api/big", method: .post, body: ByteBuffer(string: "far too long"))
            #expect(large.status == .contentTooLarge && error(large)["type"] as? String == "invalid_request")

            let longPath = "/v1/" + String(repeating: "p", count: 10_000)
            let quoted = try await client.execute(uri: longPath, method: .get)
            #expect((error(quoted)["message"] as? String).map { $0.utf8.count < 400 } == true, "the path is quoted only in part")
        }
    }
}

/// Every answer names the node that gave it, refusals by Hummingbird itself included.
@Suite struct NodeHeaderTests {
    @Test func everyAnswerNamesItsNode() async throws {
        let router = Router()
        router.middlewares.add(NodeHeaderMiddleware(nodeID: 7))
        router.middlewares.add(ErrorDialectMiddleware())
        router.get("/v1/models") { _, _ in "models" }
        try await Application(router: router).test(.router) { client in
            let served = try await client.execute(uri: "/v1/models", method: .get)
            #expect(served.status == .ok && served.headers[NodeHeaderMiddleware<BasicRequestContext>.name] == "7")
            let refused = try await client.execute(uri: "/v1/nope", method: .post)
            #expect(refused.status == .notFound && refused.headers[NodeHeaderMiddleware<BasicRequestContext>.name] == "7")
        }
    }
}
