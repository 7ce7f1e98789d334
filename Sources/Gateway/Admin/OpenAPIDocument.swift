import Policy
import HTTPTypes
import Foundation

/// `/openapi.json`: an OpenAPI 3.1 document of every admin endpoint, built from the same
/// endpoint list the router serves, and of the data plane (`OpenAPIDocument+DataPlane`).
enum OpenAPIDocument {
    /// The named schemas the endpoints refer to.
    static let components: [String: Schema] = [
        "AuditStamp": .stampSchema, "User": UserView.schema, "Organization": OrganizationView.schema,
        "Application": ApplicationView.schema, "Principal": PrincipalView.schema, "Token": TokenView.schema,
        "IssuedToken": IssuedTokenView.schema, "QuotaRevision": QuotaRevisionView.schema, "PricingRevision": PricingRevisionView.schema,
        "HistoryRecord": HistoryRecordView.schema, "Credential": CredentialView.schema, "Deployment": DeploymentView.schema,
        "Alias": AliasView.schema, "FallbackChain": FallbackView.schema, "Profile": ProfileView.schema, "DLPPolicy": DLPView.schema,
        "Settings": SettingsView.schema,
        "Error": .object([.init("error", .object([
            .init("type", .text("invalid_request, unauthorized, forbidden, not_found, conflict, payload_too_large, unavailable"), required: true),
            .init("message", .text("what went wrong and what to do"), required: true), .init("field", .text(), nullable: true),
        ]), required: true)]),
    ]

    static func document(_ endpoints: [AdminEndpoint]) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for endpoint in endpoints {
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = operation(endpoint)
        }
        paths.merge(dataPlanePaths) { admin, _ in admin }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("Weir API"), "version": .string("1"),
                "description": .string("The data plane (OpenAI and Anthropic endpoints) and the admin API of a Weir cluster. Policy writes go through the Raft log from any node; reads are local unless consistent=true."),
            ]),
            "servers": .array([.object(["url": .string("/")])]),
            "security": .array([.object(["bearer": .array([])])]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "schemas": .object(components.mapValues { $0.json() }),
                "securitySchemes": .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer")])]),
                "responses": .object(["Error": .object([
                    "description": .string("an error naming the problem"),
                    "content": .object(["application/json": .object(["schema": Schema.reference("Error").json()])]),
                ])]),
            ]),
        ])
    }

    private static func operation(_ endpoint: AdminEndpoint) -> JSONValue {
        var parameters: [JSONValue] = endpoint.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { segment in
            .object(["name": .string(String(segment.dropFirst().dropLast())), "in": .string("path"), "required": .bool(true),
                     "schema": .object(["type": .string("string")])])
        }
        parameters += endpoint.parameters.map { p in
            .object(["name": .string(p.name), "in": .string("query"), "required": .bool(p.required), "description": .string(p.description), "schema": p.schema.json()])
        }
        let isYAML = endpoint.path.hasSuffix(".yaml")
        var op: [String: JSONValue] = [
            "summary": .string(endpoint.summary), "tags": .array([.string(endpoint.tag)]),
            "operationId": .string(operationID(endpoint)),
            "description": .string("Needs a token with scope \(endpoint.scope.rawValue)."),
            "responses": .object([
                String(endpoint.responseStatus.code): .object([
                    "description": .string("success"),
                    "content": .object([(isYAML && endpoint.method == .get ? "application/yaml" : endpoint.responseContentType): .object(["schema": endpoint.response.json()])]),
                ]),
                "4XX": .object(["$ref": .string("#/components/responses/Error")]),
                "5XX": .object(["$ref": .string("#/components/responses/Error")]),
            ]),
        ]
        if !parameters.isEmpty { op["parameters"] = .array(parameters) }
        if let body = endpoint.body {
            op["requestBody"] = .object([
                "required": .bool(true),
                "content": .object([(isYAML ? "application/yaml" : "application/json"): .object(["schema": body.json()])]),
            ])
        }
        return .object(op)
    }

    static func operationID(_ endpoint: AdminEndpoint) -> String {
        let words = endpoint.path.replacingOccurrences(of: "/admin/api/", with: "").split(whereSeparator: { "/{}.".contains($0) })
        return endpoint.method.rawValue.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The document's bytes.
    static func render(_ endpoints: [AdminEndpoint]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array((try? encoder.encode(document(endpoints))) ?? Data())
    }
}
