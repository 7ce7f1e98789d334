import Policy

/// The endpoints clients call, by dialect.
enum ClientEndpoint: Sendable {
    case chat, embeddings, messages

    /// Its name in usage events.
    var name: String {
        switch self {
        case .chat: "chat.completions"
        case .embeddings: "embeddings"
        case .messages: "messages"
        }
    }

    var dialect: GatewayError.Dialect { self == .messages ? .anthropic : .openAI }
}

/// The dialect a provider speaks.
enum ProviderDialect: Sendable {
    case openAI, anthropic

    init(_ provider: Credential.Provider) { self = provider == .anthropic ? .anthropic : .openAI }

    /// The client dialect that is this one: a provider's bytes reach such a client as they are.
    var clientDialect: GatewayError.Dialect { self == .anthropic ? .anthropic : .openAI }
}
