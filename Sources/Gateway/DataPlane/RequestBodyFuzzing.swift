import Foundation
import HTTPTypes
import Hummingbird

/// The data plane's request-body checks without a server, for the fuzzer (`weir-fuzz`):
/// the body parsed as stage read (`ReadBody`) parses it (with its variant-key check), then `RequestNumbers.read` for each
/// endpoint, and a refusal rendered as the client would get it. Nothing on the request
/// path uses it.
public enum RequestBodyFuzzing {
    /// What the checks made of a body for one endpoint.
    public enum Reading: Equatable, Sendable {
        case accepted(model: String, outputTokens: Int?, choices: Int, stream: Bool)
        /// The refusal's HTTP status and message.
        case refused(status: Int, message: String)
    }

    /// The limits the checks enforce (`RequestNumbers`), for the fuzzer's properties.
    public static let outputTokensMax = RequestNumbers.outputTokensMax
    public static let choicesMax = RequestNumbers.choicesMax
    public static let modelBytesMax = RequestNumbers.modelBytesMax

    /// nil when `body` is not a JSON object (refused before the checks); otherwise the
    /// readings for chat completions, embeddings and messages, in that order.
    public static func read(_ body: [UInt8]) -> [Reading]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        // The byte path's scan (stage redact runs it on bodies DLP left as sent), then the
        // refusal of variant spellings of the keys read.
        _ = JSONMembers(body)
        if let clash = KeyClash.find(in: object) {
            let error = KeyClash.refusal(clash)
            return [ClientEndpoint.chat, .embeddings, .messages].map { .refused(status: error.response($0.dialect).status.code, message: error.message) }
        }
        return [ClientEndpoint.chat, .embeddings, .messages].map { endpoint in
            do throws(GatewayError) {
                let numbers = try RequestNumbers.read(object, endpoint: endpoint)
                return .accepted(model: numbers.model, outputTokens: numbers.outputTokens, choices: numbers.choices, stream: numbers.stream)
            } catch {
                return .refused(status: error.response(endpoint.dialect).status.code, message: error.message)
            }
        }
    }
}
