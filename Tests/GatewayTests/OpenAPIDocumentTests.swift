import Foundation
import HTTPTypes
import NodeTestSupport
import Testing
@testable import Gateway

/// `/openapi.json` against the router it documents: every endpoint is in it, the
/// document is valid OpenAPI 3.1 (checked by openapi-spec-validator), and a body built
/// from each published request schema is one the endpoint accepts.
@Suite struct OpenAPIDocumentTests {
    private func document(_ harness: AdminHarness) async throws -> (text: String, json: [String: Any]) {
        let text = try await harness.run { api async throws in
            let answer = try await api.get("/openapi.json", token: nil)
            #expect(answer.status == .ok)
            return answer.text
        }
        return (text, try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:])
    }

    @Test func everyEndpointIsDocumentedOnce() async throws {
        let harness = try await AdminHarness()
        let (_, json) = try await document(harness)
        #expect(json["openapi"] as? String == "3.1.0")
        let paths = try #require(json["paths"] as? [String: [String: Any]])
        let endpoints = harness.routes.endpoints
        for endpoint in endpoints {
            let operation = paths[endpoint.path]?[endpoint.method.rawValue.lowercased()] as? [String: Any]
            #expect(operation != nil, "\(endpoint.method) \(endpoint.path) is missing from /openapi.json")
        }
        let documented = paths.values.map { $0.keys.filter { ["get", "post", "put", "delete", "patch"].contains($0) }.count }.reduce(0, +)
        #expect(documented == endpoints.count + OpenAPIDocument.dataPlanePaths.count, "the document has exactly the routed operations and the data plane's")
        for (path, operations) in OpenAPIDocument.dataPlanePaths {
            #expect(paths[path]?.keys.sorted() == operations.keys.sorted(), "\(path) is documented")
        }
        #expect(Set(endpoints.map { "\($0.method) \($0.path)" }).count == endpoints.count, "no endpoint is declared twice")
    }

    @Test func theDocsPageNeedsNothingFromOutside() async throws {
        let harness = try await AdminHarness()
        let (status, text) = try await harness.run { api async throws in
            let answer = try await api.get("/docs", token: nil)
            return (answer.status, answer.text)
        }
        #expect(status == .ok && text.hasPrefix("<!doctype html>"))
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(http"] {
            #expect(!text.contains(external), "/docs loads an external asset (\(external))")
        }
        for endpoint in harness.routes.endpoints {
            #expect(text.contains(endpoint.path), "/docs shows \(endpoint.path)")
        }
    }

    @Test func theDocumentIsValidOpenAPI31() async throws {
        let harness = try await AdminHarness()
        let (text, _) = try await document(harness)
        let python = try #require(TestPython.interpreter(), Comment(rawValue: TestPython.missing))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("weir-openapi-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try TestPython.run(python, ["-m", "openapi_spec_validator", file.path])
        #expect(status == 0, "openapi-spec-validator refused /openapi.json:\n\(output)")
    }

    @Test func bodiesBuiltFromThePublishedSchemasAreAccepted() async throws {
        var harness = try await AdminHarness()
        harness.cluster = RecordingClusterAdmin()
        let checked = try await harness.run { api async throws in
            let text = try await api.get("/openapi.json", token: nil).text
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            let sampler = SchemaSampler(components: ((json["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:])
            let paths = try #require(json["paths"] as? [String: [String: Any]])
            var checked = 0
            for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
                for (method, value) in operations {
                    guard let operation = value as? [String: Any],
                          let content = (operation["requestBody"] as? [String: Any])?["content"] as? [String: Any],
                          let schema = (content["application/json"] as? [String: Any])?["schema"] as? [String: Any]
                    else { continue }
                    let uri = path.replacingOccurrences(of: "{id}", with: "sample")
                    for full in [true, false] {
                        let body = try JSONSerialization.data(withJSONObject: sampler.sample(schema, full: full), options: [.sortedKeys])
                        let text = String(decoding: body, as: UTF8.self)
                        let answer = try await api.call(HTTPRequest.Method(method.uppercased())!, uri, body: text)
                        let decodeFailure = answer.status == .badRequest
                            && (answer.errorMessage.hasPrefix("unknown field") || answer.errorMessage.contains(": expected ")
                                || answer.errorMessage.contains(" is required") || answer.errorMessage.contains("not valid JSON"))
                        #expect(!decodeFailure, "\(method.uppercased()) \(path) refused a body built from its own schema: \(text) → \(answer.text)")
                        #expect(answer.status.code < 500, "\(method.uppercased()) \(path) failed on \(text): \(answer.text)")
                        checked += 1
                    }
                }
            }
            return checked
        }
        #expect(checked >= 30, "the sampler reached the JSON bodies (\(checked) calls)")
    }
}

/// Builds a JSON value that satisfies a JSON Schema from the OpenAPI document: every
/// property (`full`) or the required ones only, the first allowed value of an enum.
struct SchemaSampler {
    let components: [String: Any]

    func sample(_ schema: [String: Any], full: Bool, depth: Int = 0) -> Any {
        if let ref = schema["$ref"] as? String, let target = components[String(ref.split(separator: "/").last ?? "")] as? [String: Any] {
            return depth > 6 ? [String: Any]() : sample(target, full: full, depth: depth + 1)
        }
        if let allowed = schema["enum"] as? [Any], let first = allowed.first(where: { !($0 is NSNull) }) { return first }
        let types = (schema["type"] as? [String]) ?? [(schema["type"] as? String) ?? "object"]
        switch types.first(where: { $0 != "null" }) ?? "null" {
        case "string": return "sample"
        case "integer": return 1
        case "number": return 1.5
        case "boolean": return true
        case "array":
            return (schema["items"] as? [String: Any]).map { [sample($0, full: full, depth: depth + 1)] } ?? []
        case "object":
            if let values = schema["additionalProperties"] as? [String: Any] { return ["key": sample(values, full: full, depth: depth + 1)] }
            let required = Set(schema["required"] as? [String] ?? [])
            var object: [String: Any] = [:]
            for (name, property) in (schema["properties"] as? [String: [String: Any]]) ?? [:] where full || required.contains(name) {
                object[name] = sample(property, full: full, depth: depth + 1)
            }
            return object
        default: return NSNull()
        }
    }
}
