import AsyncHTTPClient
import Hummingbird
import Policy
import QuotaCRDT

/// One request on its way through the pipeline (DESIGN.md section 3): what the intake
/// found (the caller, the body, the numbers the gateway computes with) and what each
/// request stage added (the model, the redaction, the route plan). It grows as the
/// request gains rights; a stage reads what the stages before it wrote.
struct Exchange {
    let request: Request
    let endpoint: ClientEndpoint
    /// The policy in force when the request arrived; every stage reads this one.
    let state: PolicyState
    let caller: Caller
    /// The body decoded (redacted by stage redact).
    var body: [String: Any]
    /// The body as sent.
    let raw: [UInt8]
    let numbers: RequestNumbers
    /// What every usage event of this request shares.
    var usage: UsageContext
    /// The model to serve (after `x-weir-cost-mode`) and what its alias resolves to.
    var model: String
    var resolved: String
    /// What stage redact replaced, and how to put it back in the answer.
    var redaction = Redaction()
    var restorer = PlaceholderRestorer(Redaction())
    /// The body as sent, scanned, to forward with surgical edits: set by stage redact when
    /// it changed nothing (nil when the scanner declined the bytes). A stage that changes
    /// `body` sets it to nil.
    var sent: JSONMembers?
    /// The attempts in order (stage route); never empty after it.
    var attempts: [Attempt] = []
    /// The prompt's estimated tokens (stage route, on the redacted body).
    var promptEstimate = 1
    /// Where the answer goes in the response cache, when it may be cached (stage cache).
    var cacheKey: String?

    var stream: Bool { numbers.stream }

    /// The client's own `stream_options.include_usage`.
    var clientWantsUsage: Bool {
        ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
    }

}

/// One attempt of the route plan on its way through the attempt stages: what each stage
/// took or learnt. The runner hands it to every release when the attempt ends.
struct AttemptExchange {
    let attempt: Attempt
    /// Its place in the plan, from 0.
    let number: Int
    let isLast: Bool
    /// Stage price: the rate per 1k tokens, nil when free or let through unpriced.
    var price: Price?
    var unpriced = false
    /// Stage translate: the output tokens reserved and the provider's request.
    var outputEstimate = 0
    var upstream: HTTPClientRequest?
    /// Stage take-slot: the provider host's slot.
    var slot: UpstreamSlots.Slot?
    /// Stage admit: the reservation against every quota that applies.
    var reservation: ReservationID?
    /// Set once the reservation is settled (stage answer): its release has nothing to end.
    var settled = false
    /// Stage forward: the provider's answer head and how long it took.
    var response: HTTPClientResponse?
    var latency: Int64?
    /// What the stages took, each ended by the runner when the attempt ends (`hold`).
    private(set) var releases: [any Release] = []
    /// Set by the stage that hands the attempt's holds to a streamed body: the releases
    /// leave them to the stream, which ends them when it ends.
    var streaming = false

    /// Hands what a stage just took to the runner, which ends it when the attempt ends,
    /// whatever the end.
    mutating func hold(_ release: any Release) { releases.append(release) }

    /// Attempts made so far, this one included (usage events count them).
    var attempts: Int { number + 1 }

    /// The deployment statistics' key: Ollama's pass-through models share one entry.
    var deploymentKey: String { attempt.deployment?.id ?? DeploymentStats.passThroughKey }
}
