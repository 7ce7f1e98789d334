import Hummingbird
import Policy

/// Stage redact: nothing the caller's DLP policy detects leaves the node, unless the
/// caller may bypass it and says why. Notes what it did in the usage context; fails when
/// the policy blocks, or could not scan in time (DLP fails closed). A body it left as sent
/// is scanned for forwarding with surgical edits (`Exchange.sent`).
struct Redact: RequestStage {
    let redactor: Redactor

    func run(_ exchange: inout Exchange) async throws(GatewayError) -> Response? {
        exchange.redaction = try screen(&exchange.body, request: exchange.request, caller: exchange.caller, state: exchange.state, usage: &exchange.usage)
        exchange.restorer = PlaceholderRestorer(exchange.redaction)
        exchange.sent = exchange.redaction.isEmpty ? JSONMembers(exchange.raw) : nil
        return nil
    }

    func screen(_ body: inout [String: Any], request: Request, caller: Caller, state: PolicyState, usage: inout UsageContext) throws(GatewayError) -> Redaction {
        guard let (policy, scope) = DLPStage.policy(for: caller, state: state) else { return Redaction() }
        if let reason = try DLPStage.bypassReason(request.headers, caller: caller) {
            usage.dlp = DLPOutcome(action: .bypass, policy: policy.id, scope: scope, reason: reason)
            return Redaction()
        }
        let redaction = DLPStage.redact(&body, with: redactor.detectors(for: policy), redactor: redactor)
        if redaction.timedOut != nil { throw DLPStage.timedOut(redaction, policy: policy) }
        if !redaction.isEmpty {
            usage.dlp = DLPOutcome(action: policy.action == .block ? .block : .redact, policy: policy.id, scope: scope, matches: redaction.counts)
            usage.redactions = redaction.counts.values.reduce(0, +)
        }
        if !redaction.isEmpty && policy.action == .block { throw DLPStage.blocked(redaction, policy: policy) }
        return redaction
    }
}
