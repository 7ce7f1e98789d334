/// One request as the usage analytics see it (DESIGN.md section 3, stage observe): who
/// asked for what, which model answered, the tokens and cost settled, and how it ended.
public struct UsageEvent: Codable, Sendable, Equatable {
    /// When the request arrived, ms since the epoch.
    public var time: Int64
    /// `chat.completions`, `embeddings` or `messages`.
    public var endpoint: String
    public var token: String
    public var principal: String
    public var user: String?
    public var app: String?
    public var organization: String?
    /// The model the caller asked for.
    public var requestedModel: String
    /// The public name of the model that answered (after aliases, profiles, fallbacks); nil
    /// when none did.
    public var model: String?
    public var provider: String?
    public var credential: String?
    public var deployment: String?
    public var inputTokens: Int
    public var outputTokens: Int
    public var microUSD: Int64
    /// Let through without a price (settings `allow-and-flag`).
    public var unpriced: Bool
    /// The HTTP status the caller got.
    public var status: Int
    /// The error code the caller got (`quota_exceeded`, `upstream_timeout` …), if any.
    public var errorCode: String?
    public var stream: Bool
    /// Time to the answer's head (the first byte of a stream), in µs.
    public var latencyMicroseconds: Int64
    /// Attempts made (more than one after fallbacks).
    public var attempts: Int
    /// Values DLP replaced with placeholders.
    public var redactions: Int
    /// Answered from this node's response cache (no provider call).
    public var cached: Bool
    /// What DLP did to the request, when a policy applied or a bypass was used.
    public var dlp: DLPOutcome?
    /// The message the caller got with an error status.
    public var errorMessage: String?
    /// The caller's `User-Agent` (error reports show it).
    public var userAgent: String?
    /// The size of the request body, in bytes.
    public var requestBytes: Int?

    public init(
        time: Int64, endpoint: String, token: String, principal: String, user: String?, app: String?, organization: String?,
        requestedModel: String, model: String?, provider: String?, credential: String?, deployment: String?, inputTokens: Int, outputTokens: Int,
        microUSD: Int64, unpriced: Bool, status: Int, errorCode: String?, stream: Bool, latencyMicroseconds: Int64, attempts: Int, redactions: Int,
        cached: Bool = false, dlp: DLPOutcome? = nil, errorMessage: String? = nil, userAgent: String? = nil, requestBytes: Int? = nil
    ) {
        self.time = time
        self.endpoint = endpoint
        self.token = token
        self.principal = principal
        self.user = user
        self.app = app
        self.organization = organization
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.credential = credential
        self.deployment = deployment
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.microUSD = microUSD
        self.unpriced = unpriced
        self.status = status
        self.errorCode = errorCode
        self.stream = stream
        self.latencyMicroseconds = latencyMicroseconds
        self.attempts = attempts
        self.redactions = redactions
        self.cached = cached
        self.dlp = dlp
        self.errorMessage = errorMessage
        self.userAgent = userAgent
        self.requestBytes = requestBytes
    }
}

/// What DLP did to one request: never the values it found, only their kinds and counts.
public struct DLPOutcome: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        /// Values were replaced with placeholders (and restored in the answer).
        case redact
        /// The request was refused.
        case block
        /// The caller's token holds `dlp.bypass` and sent `x-weir-dlp-bypass`: nothing was scanned.
        case bypass
    }

    public var action: Action
    /// The policy that applied.
    public var policy: String
    /// Whose policy: `app:ID` or `org:ID`.
    public var scope: String
    /// Values found per detector or pattern label (`EMAIL`, `CREDIT_CARD` …).
    public var matches: [String: Int]
    /// The reason the caller gave for a bypass.
    public var reason: String?

    public init(action: Action, policy: String, scope: String, matches: [String: Int] = [:], reason: String? = nil) {
        self.action = action
        self.policy = policy
        self.scope = scope
        self.matches = matches
        self.reason = reason
    }
}

/// Where the data plane records usage events. `Node` keeps them in RocksDB in batches;
/// `record` must never block the request path.
public protocol UsageSink: Sendable {
    func record(_ event: UsageEvent)
}

/// Keeps nothing: for measuring what recording costs (`usage.recording: false`).
public struct DiscardingUsageSink: UsageSink {
    public init() {}
    public func record(_ event: UsageEvent) {}
}
