/// How `mockllm` answers: timing, token counts, stream chunking and standing faults.
public struct MockOptions: Sendable {
    /// Wait before the first byte of every answer.
    public var latency: Duration = .zero
    /// Prompt tokens reported; nil counts about one per four characters of the prompt.
    public var promptTokens: Int?
    /// Completion tokens produced (fewer when the request's max tokens is lower).
    public var completionTokens = 16
    /// Tokens per streamed chunk.
    public var chunkTokens = 1
    /// Wait between streamed chunks.
    public var chunkDelay: Duration = .zero
    /// Length of the vectors `/v1/embeddings` returns.
    public var embeddingDimensions = 8
    /// When set, requests must present this key (Bearer, x-api-key or api-key).
    public var requiredKey: String?
    /// Model names `GET /v1/models` and `/api/tags` list (any name is answered).
    public var models = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "claude-sonnet-4-5", "gemma3"]
    /// How long a `timeout` fault holds the request before closing it.
    public var hang: Duration = .seconds(600)
    /// Faults in force from the start (the control API adds more).
    public var faults: [Fault] = []
    /// Seed of the fault dice, so a run with rates replays.
    public var seed: UInt64 = 1

    /// The most requests `/_mock/requests` keeps (oldest dropped first).
    public static let recordedMax = 1_000
    /// The largest request body read.
    public static let bodyBytesMax = 8 << 20
    /// The most completion tokens or embedding dimensions one answer may have.
    public static let tokensMax = 1_000_000

    public init() {}
}

/// An injected failure: an HTTP status, a request held until the client gives up, or a
/// connection dropped mid-answer.
public struct Fault: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Answer `status` with an error body in the endpoint's dialect.
        case status
        /// Hold the request (`MockOptions.hang`) without answering.
        case timeout
        /// Start the answer, then close the connection.
        case drop
    }

    public var kind: Kind
    /// For `status`: 429, 500, 503 …
    public var status: Int?
    /// Chance per matching request, 0 to 1 (default 1).
    public var rate: Double?
    /// How many requests it hits before it is spent (default: no end).
    public var count: Int?
    /// Only requests for this model (default: all).
    public var model: String?

    public init(kind: Kind, status: Int? = nil, rate: Double? = nil, count: Int? = nil, model: String? = nil) {
        self.kind = kind
        self.status = status
        self.rate = rate
        self.count = count
        self.model = model
    }

    /// Why this fault cannot be used, or nil.
    var problem: String? {
        if kind == .status, !(400...599).contains(status ?? 0) { return "a status fault needs a status from 400 to 599" }
        if let rate, !(0...1).contains(rate) { return "rate must be between 0 and 1" }
        if let count, count < 1 { return "count must be 1 or more" }
        return nil
    }
}
