/// The data plane's operations in `/openapi.json`: the OpenAI and Anthropic endpoints with
/// the fields the gateway itself checks and their real bounds (`RequestNumbers`). Bodies
/// stay open objects: every other field passes through to the provider.
extension OpenAPIDocument {
    static var dataPlanePaths: [String: [String: JSONValue]] {
        [
            "/v1/chat/completions": ["post": operation("createChatCompletion", "OpenAI chat completion, whole or streamed (SSE)", body: chatBody, dialect: "OpenAI")],
            "/v1/embeddings": ["post": operation("createEmbedding", "OpenAI embeddings", body: embeddingsBody, dialect: "OpenAI")],
            "/v1/messages": ["post": operation("createMessage", "Anthropic message, whole or streamed (SSE)", body: messagesBody, dialect: "Anthropic")],
            "/v1/messages/count_tokens": ["post": operation("countMessageTokens", "Anthropic token count (the provider's, else an estimate)", body: countBody, dialect: "Anthropic")],
            "/v1/models": ["get": operation("listModels", "The models this token may ask for", body: nil, dialect: "OpenAI")],
        ]
    }

    private static func operation(_ id: String, _ summary: String, body: JSONValue?, dialect: String) -> JSONValue {
        var op: [String: JSONValue] = [
            "summary": .string(summary), "tags": .array([.string("Data plane")]), "operationId": .string(id),
            "description": .string("Needs a token with scope model.invoke (Authorization: Bearer, or x-api-key). Errors come in the \(dialect) shape."),
            "responses": .object([
                "200": .object(["description": .string("the provider's answer, in the endpoint's dialect"), "content": .object([
                    "application/json": .object(["schema": .object(["type": .string("object")])]),
                    "text/event-stream": .object(["schema": .object(["type": .string("string")])]),
                ])]),
                "4XX": .object(["description": .string("the request was refused; the error names the field and the limit")]),
                "5XX": .object(["description": .string("the provider failed (502, 504) or the node is overloaded (503 with Retry-After)")]),
            ]),
        ]
        if let body {
            op["requestBody"] = .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": body])])])
        }
        return .object(op)
    }

    private static func integer(_ range: ClosedRange<Int>, _ description: String) -> JSONValue {
        .object(["type": .string("integer"), "minimum": .number(Double(range.lowerBound)), "maximum": .number(Double(range.upperBound)), "description": .string(description)])
    }

    private static var model: JSONValue {
        .object(["type": .string("string"), "minLength": .number(1), "maxLength": .number(Double(RequestNumbers.modelBytesMax)),
                 "pattern": .string("^[^\\x00-\\x1f\\x7f]+$"),
                 "examples": .array([.string("gpt-4o-mini")]), "description": .string("a model, alias or ollama/… name")])
    }

    private static var messages: JSONValue {
        .object(["type": .string("array"), "items": .object([
            "type": .string("object"), "required": .array([.string("role"), .string("content")]),
            "properties": .object([
                "role": .object(["type": .string("string"), "enum": .array(["system", "user", "assistant", "tool"].map(JSONValue.string))]),
                "content": .object(["type": .string("string")]),
            ]),
        ])])
    }

    private static func open(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
        .object(["type": .string("object"), "properties": .object(properties), "required": .array(required.map(JSONValue.string))])
    }

    private static var outputTokens: JSONValue { integer(1...RequestNumbers.outputTokensMax, "outputTokensMax bounds it") }

    static var chatBody: JSONValue {
        open([
            "model": model, "messages": messages, "max_tokens": outputTokens, "max_completion_tokens": outputTokens,
            "n": integer(1...RequestNumbers.choicesMax, "choicesMax bounds it"), "stream": .object(["type": .string("boolean")]),
        ], required: ["model", "messages"])
    }

    static var embeddingsBody: JSONValue {
        open([
            "model": model, "input": .object(["type": .string("string")]),
            "dimensions": integer(1...RequestNumbers.dimensionsMax, "dimensionsMax bounds it"),
        ], required: ["model", "input"])
    }

    static var messagesBody: JSONValue {
        open(["model": model, "messages": messages, "max_tokens": outputTokens, "stream": .object(["type": .string("boolean")])], required: ["model", "messages", "max_tokens"])
    }

    static var countBody: JSONValue { open(["model": model, "messages": messages], required: ["model", "messages"]) }
}
