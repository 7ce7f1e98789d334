import Foundation
import HTTPTypes
import NIOCore
import Policy

/// Stage redact (DESIGN.md section 3): the caller's DLP policy (its app's, else its
/// organization's) applied to the text of a request before anything leaves the node, and
/// the placeholders restored in the answer.
enum DLPStage {
    /// The enabled policy that applies to `caller`, if any, and whose it is (`app:ID` or
    /// `org:ID`).
    static func policy(for caller: Caller, state: PolicyState) -> (policy: DLPPolicy, scope: String)? {
        let owner: (id: String, scope: String)? = if let app = caller.app, let id = app.dlp {
            (id, "app:\(app.id)")
        } else if let organization = caller.organization, let id = state.organizations[organization]?.dlp {
            (id, "org:\(organization)")
        } else {
            nil
        }
        guard let owner, let policy = state.dlpPolicies[owner.id], policy.enabled else { return nil }
        return (policy, owner.scope)
    }

    /// The header with which a caller whose token holds `dlp.bypass` skips the scan; its
    /// value is the reason, kept in the DLP activity log.
    static var bypassHeader: HTTPField.Name { HTTPField.Name("x-weir-dlp-bypass")! }
    /// Bytes of a bypass reason kept.
    static let bypassReasonBytesMax = 256

    /// The reason given for a bypass; nil when none was asked for. Throws when the token
    /// may not bypass.
    static func bypassReason(_ headers: HTTPFields, caller: Caller) throws(GatewayError) -> String? {
        guard let reason = headers[bypassHeader]?.trimmingCharacters(in: .whitespaces), !reason.isEmpty else { return nil }
        guard Scope.dlpBypass.isGranted(by: caller.token.scopes) else {
            throw GatewayError(
                status: .forbidden, type: "permission_error", code: "dlp_bypass_not_allowed",
                message: "token \(caller.token.id) may not bypass DLP; drop the x-weir-dlp-bypass header, or ask an admin for a token with scope dlp.bypass")
        }
        return reason.prefix(bytes: bypassReasonBytesMax)
    }

    /// Keys whose values steer the gateway or the provider and are never user text: they
    /// are not scanned (a model name must stay the model name).
    static let structuralKeys: Set<String> = ["model", "role", "type", "id", "tool_call_id", "tool_use_id", "stream"]

    /// Redacts every string the client sent that will leave the node: message contents,
    /// tool-call arguments, Anthropic `system`, `tool_use.input`, `user`, `metadata`,
    /// embedding `input` and the rest, at any depth. Only `structuralKeys` are kept as sent.
    static func redact(_ body: inout [String: Any], with detectors: [DLPDetectors.Detector], redactor: Redactor) -> Redaction {
        var redaction = Redaction()
        func clean(_ value: Any) -> Any {
            guard redaction.timedOut == nil else { return value }
            switch value {
            case let text as String: return redactor.redact(text, with: detectors, into: &redaction)
            case let list as [Any]: return list.map(clean)
            case let object as [String: Any]: return cleanObject(object)
            default: return value
            }
        }
        func cleanObject(_ object: [String: Any]) -> [String: Any] {
            var object = object
            for (key, value) in object where !structuralKeys.contains(key) { object[key] = clean(value) }
            return object
        }
        body = cleanObject(body)
        return redaction
    }

    /// The refusal when a policy's patterns ran out of their time budget on this request.
    static func timedOut(_ redaction: Redaction, policy: DLPPolicy) -> GatewayError {
        GatewayError(
            status: .badRequest, type: "invalid_request_error", code: "dlp_scan_timeout",
            message: "DLP policy \(policy.id) could not scan this request within \(Redaction.scanBudget) (detector \(redaction.timedOut ?? "?")), "
                + "so it was not sent; shorten the request, or ask an admin to simplify that pattern")
    }

    /// `value` with placeholders restored in every string inside it.
    static func restore(_ value: Any, _ restorer: PlaceholderRestorer) -> Any {
        switch value {
        case let text as String: return restorer.restore(text)
        case let list as [Any]: return list.map { restore($0, restorer) }
        case let object as [String: Any]: return object.mapValues { restore($0, restorer) }
        default: return value
        }
    }

    static func blocked(_ redaction: Redaction, policy: DLPPolicy) -> GatewayError {
        let found = redaction.counts.keys.sorted().joined(separator: ", ")
        return GatewayError(
            status: .badRequest, type: "invalid_request_error", code: "dlp_blocked",
            message: "the request contains data that DLP policy \(policy.id) blocks (\(found)); remove it, or ask an admin to redact instead of block")
    }
}

/// Restores placeholders in a stream already in the client's dialect: text deltas are
/// rewritten, a placeholder split across chunks is held back until it is whole, and what
/// is held is flushed before the event that ends the text.
struct RestoringTranslator: StreamTranslator {
    var inner: any StreamTranslator
    var restorer: PlaceholderRestorer
    let dialect: GatewayError.Dialect
    /// The last text event's data, as the template of a flush.
    private var template: String?
    private var splitter = SSESplitter()

    var inputTokens: Int? { inner.inputTokens }
    var outputTokens: Int? { inner.outputTokens }
    var contentCharacters: Int { inner.contentCharacters }

    init(inner: any StreamTranslator, restorer: PlaceholderRestorer, dialect: GatewayError.Dialect) {
        self.inner = inner
        self.restorer = restorer
        self.dialect = dialect
    }

    mutating func translate(_ event: SSEEvent) -> [UInt8] {
        rewrite(inner.translate(event))
    }

    mutating func finish() -> [UInt8] {
        var out = rewrite(inner.finish())
        out += flush()
        return out
    }

    private mutating func rewrite(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var out: [UInt8] = []
        for event in splitter.feed(ByteBuffer(bytes: bytes)) {
            guard var object = event.json, let text = Self.text(in: object, dialect) else {
                out += flush() + event.raw
                continue
            }
            template = event.data
            let restored = restorer.feed(text)
            guard !restored.isEmpty else { continue }
            Self.setText(restored, in: &object, dialect)
            out += encode(object, name: event.name)
        }
        return out
    }

    /// What the restorer still holds, as one more text event.
    private mutating func flush() -> [UInt8] {
        let held = restorer.finish()
        guard !held.isEmpty, var object = template.flatMap({ SSEEvent(name: nil, data: $0, raw: []).json }) else { return [] }
        Self.setText(held, in: &object, dialect)
        if dialect == .openAI, var choices = object["choices"] as? [[String: Any]], !choices.isEmpty {
            choices[0]["finish_reason"] = NSNull()
            object["choices"] = choices
        }
        return encode(object, name: dialect == .anthropic ? "content_block_delta" : nil)
    }

    private func encode(_ object: [String: Any], name: String?) -> [UInt8] {
        name.map { sseEvent($0, object) } ?? sseData(object)
    }

    /// The text delta of an event, if it carries one.
    static func text(in object: [String: Any], _ dialect: GatewayError.Dialect) -> String? {
        switch dialect {
        case .openAI: ((object["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
        case .anthropic: object["type"] as? String == "content_block_delta" ? (object["delta"] as? [String: Any])?["text"] as? String : nil
        }
    }

    static func setText(_ text: String, in object: inout [String: Any], _ dialect: GatewayError.Dialect) {
        switch dialect {
        case .openAI:
            guard var choices = object["choices"] as? [[String: Any]], !choices.isEmpty else { return }
            var delta = choices[0]["delta"] as? [String: Any] ?? [:]
            delta["content"] = text
            choices[0]["delta"] = delta
            object["choices"] = choices
        case .anthropic:
            var delta = object["delta"] as? [String: Any] ?? ["type": "text_delta"]
            delta["text"] = text
            object["delta"] = delta
        }
    }
}
