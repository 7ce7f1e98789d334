import ArgumentParser
import Foundation
import MockLLM

/// `mockllm`: an upstream LLM simulator for tests, benchmarks and the `make run` demo.
@main
struct MockLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mockllm",
        abstract: "Simulates OpenAI, Anthropic and Ollama servers, with latency, token counts, stream chunking and injected faults.",
        discussion: """
            Endpoints: POST /v1/chat/completions, /v1/embeddings, /v1/messages, /v1/messages/count_tokens, /api/chat; \
            GET /v1/models, /api/tags. Control: GET/DELETE /_mock/requests, GET/POST/DELETE /_mock/faults, GET /_mock/health. \
            A user message starting with "/echo " is answered with the rest of it.
            """)

    @Option(help: "Where to listen, host:port (port 0 picks a free one; the chosen port is printed).")
    var listen = "127.0.0.1:9999"

    @Option(name: .customLong("latency-ms"), help: "Wait before the first byte of every answer, in ms.")
    var latencyMilliseconds = 0

    @Option(help: "Prompt tokens to report (default: about one per four characters of the prompt).")
    var promptTokens: Int?

    @Option(help: "Completion tokens to produce (fewer when the request asks for fewer).")
    var completionTokens = 16

    @Option(help: "Tokens per streamed chunk.")
    var chunkTokens = 1

    @Option(name: .customLong("chunk-delay-ms"), help: "Wait between streamed chunks, in ms.")
    var chunkDelayMilliseconds = 0

    @Option(help: "Length of embedding vectors.")
    var embeddingDimensions = 8

    @Option(help: "Comma-separated model names for the model lists (any name is answered).")
    var models: String?

    @Option(help: "Require this API key (Bearer, x-api-key or api-key).")
    var requireKey: String?

    @Option(help: "Answer this HTTP status (429, 500, 503 …) to a share of requests (see --fail-rate).")
    var failStatus: Int?

    @Option(help: "Share of requests, 0 to 1, that get --fail-status.")
    var failRate = 1.0

    @Option(help: "Share of requests, 0 to 1, held until the client gives up (see --hang-seconds).")
    var timeoutRate = 0.0

    @Option(help: "Share of requests, 0 to 1, whose connection is dropped mid-answer.")
    var dropRate = 0.0

    @Option(help: "How long a timed-out request is held, in seconds.")
    var hangSeconds = 600

    @Option(help: "Seed of the fault dice (runs with rates replay).")
    var seed: UInt64 = 1

    func validate() throws {
        for (name, rate) in [("--fail-rate", failRate), ("--timeout-rate", timeoutRate), ("--drop-rate", dropRate)] where !(0...1).contains(rate) {
            throw ValidationError("\(name) must be between 0 and 1")
        }
        if let failStatus, !(400...599).contains(failStatus) { throw ValidationError("--fail-status must be 400 to 599") }
        let counts = [("--completion-tokens", completionTokens), ("--chunk-tokens", chunkTokens), ("--embedding-dimensions", embeddingDimensions)]
        for (name, value) in counts where !(0...MockOptions.tokensMax).contains(value) {
            throw ValidationError("\(name) must be between 0 and \(MockOptions.tokensMax)")
        }
        guard Self.hostPort(listen) != nil else { throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:9999") }
    }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        var options = MockOptions()
        options.latency = .milliseconds(latencyMilliseconds)
        options.promptTokens = promptTokens
        options.completionTokens = completionTokens
        options.chunkTokens = max(1, chunkTokens)
        options.chunkDelay = .milliseconds(chunkDelayMilliseconds)
        options.embeddingDimensions = embeddingDimensions
        options.requiredKey = requireKey
        options.hang = .seconds(hangSeconds)
        options.seed = seed
        if let models { options.models = models.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let failStatus { options.faults.append(Fault(kind: .status, status: failStatus, rate: failRate)) }
        if timeoutRate > 0 { options.faults.append(Fault(kind: .timeout, rate: timeoutRate)) }
        if dropRate > 0 { options.faults.append(Fault(kind: .drop, rate: dropRate)) }
        let (host, port) = Self.hostPort(listen)!
        try await MockLLM(options: options).run(host: host, port: port) { bound in
            // Unbuffered, so a parent reading the pipe sees the port at once.
            FileHandle.standardOutput.write(Data("mockllm listening on http://\(host):\(bound)\n".utf8))
        }
    }
}
