import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import HTTPTypes
import Policy

/// Where and how an attempt is sent: the provider's URL, its authentication header and
/// the credential's extra headers, the body with the upstream model name.
enum Upstream {
    /// Default API bases by provider (a credential's base URL replaces them).
    static let openAIBase = "https://api.openai.com/v1"
    static let azureAPIVersion = "2024-10-21"

    /// A request to `path` (`/chat/completions`, `/embeddings`) in the OpenAI dialect
    /// (OpenAI, Azure OpenAI, Ollama's OpenAI-compatible endpoint, any OpenAI-compatible server).
    static func openAI(_ path: String, _ attempt: Attempt, settings: GatewaySettings, sealer: CredentialSealer, body: [UInt8]) throws(GatewayError) -> HTTPClientRequest {
        let secret = try openSecret(attempt.credential, sealer: sealer)
        let base = attempt.credential?.baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        var headers = HTTPHeaders()
        var url: String
        switch attempt.provider {
        case .openai:
            url = (base ?? openAIBase) + path
        case .openAICompatible:
            guard let base else { throw missingBase(attempt) }
            url = base + path
        case .ollama:
            let root = base ?? settings.ollamaBaseURL.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            url = (root.hasSuffix("/v1") ? root : root + "/v1") + path
        case .azureOpenAI:
            guard let base else { throw missingBase(attempt) }
            let version = attempt.credential?.extraHeaders["api-version"] ?? azureAPIVersion
            url = "\(base)/openai/deployments/\(attempt.upstreamModel)\(path)?api-version=\(version)"
        case .anthropic:
            throw GatewayError(
                status: .badRequest, type: "invalid_request_error", code: "dialect_mismatch",
                message: "model \(attempt.model) is served by Anthropic, which has no \(path) endpoint; route it to another deployment")
        }
        if let secret {
            if attempt.provider == .azureOpenAI { headers.add(name: "api-key", value: secret) } else { headers.add(name: "Authorization", value: "Bearer \(secret)") }
        }
        for (name, value) in attempt.credential?.extraHeaders ?? [:] where name.lowercased() != "api-version" { headers.add(name: name, value: value) }
        headers.add(name: "Content-Type", value: "application/json")
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// Anthropic's Messages API (`path`: `/messages` or `/messages/count_tokens`).
    static func anthropic(_ path: String, _ attempt: Attempt, sealer: CredentialSealer, body: [UInt8], version: String?) throws(GatewayError) -> HTTPClientRequest {
        let secret = try openSecret(attempt.credential, sealer: sealer)
        var base = attempt.credential?.baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? anthropicBase
        if !base.hasSuffix("/v1") { base += "/v1" }
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        if let secret { request.headers.add(name: "x-api-key", value: secret) }
        request.headers.add(name: "anthropic-version", value: version ?? anthropicVersion)
        for (name, value) in attempt.credential?.extraHeaders ?? [:] { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    static let anthropicBase = "https://api.anthropic.com"
    static let anthropicVersion = "2023-06-01"

    private static func openSecret(_ credential: Credential?, sealer: CredentialSealer) throws(GatewayError) -> String? {
        guard let credential, let sealed = credential.sealedSecret else { return nil }
        do {
            return try sealer.open(sealed, for: credential.id)
        } catch {
            throw GatewayError(
                status: .internalServerError, type: "api_error", code: "credential_unreadable",
                message: "this node cannot open the secret of \(credential.id): its cluster.kek_file differs from the node that sealed it; "
                    + "give every node the same key file, or set the credential's secret again")
        }
    }

    private static func missingBase(_ attempt: Attempt) -> GatewayError {
        GatewayError(
            status: .badGateway, type: "api_error", code: "credential_incomplete",
            message: "credential \(attempt.credential?.id ?? "?") (\(attempt.provider.rawValue)) has no base_url; an admin can set it")
    }

    /// Which fallback trigger an upstream status is, if any.
    static func trigger(status: Int) -> FallbackTrigger? {
        switch status {
        case 429: .rateLimited
        case 402: .creditExpired
        case 500...: .providerError
        default: nil
        }
    }

    /// Which fallback trigger a transport error is.
    static func trigger(error: any Error) -> FallbackTrigger {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .timeout
        }
        return .unavailable
    }
}
