import Foundation
import Crypto
import HTTPTypes
import Hummingbird
import Policy

/// Authenticates a caller by client token (`Authorization: Bearer …` or `x-api-key`) and
/// checks the scope the call needs. The secret is hashed and looked up by hash; the stored
/// hash is then compared in constant time. Admin calls and the data plane both use it and
/// answer its failures in their own shapes.
enum TokenAuthenticator {
    /// The longest secret looked at; longer ones are refused without hashing.
    static let secretLengthMax = 512

    enum Failure: Error, Equatable {
        case missing, tooLong, unknown
        case revoked(String), expired(String)
        case lacksScope(token: String, needs: Scope, has: [String])

        /// Whether the caller is unknown (401) rather than known but not allowed (403).
        var isUnauthenticated: Bool {
            if case .lacksScope = self { return false }
            return true
        }

        var message: String {
            switch self {
            case .missing: "send a token as 'Authorization: Bearer <token>' or 'x-api-key: <token>'"
            case .tooLong: "the token is longer than \(TokenAuthenticator.secretLengthMax) bytes; check it"
            case .unknown: "the token is not known to this cluster; check it, or issue a new one"
            case let .revoked(id): "token \(id) is revoked; use another token"
            case let .expired(id): "token \(id) has expired; issue a new one"
            case let .lacksScope(id, needs, has):
                "token \(id) lacks the scope \(needs.rawValue) this call needs (it has \(has.joined(separator: ", ")))"
            }
        }
    }

    static func authenticate(_ headers: HTTPFields, state: PolicyState, now: Int64, needs scope: Scope) -> Result<ClientToken, Failure> {
        guard let secret = presentedSecret(headers) else { return .failure(.missing) }
        guard secret.utf8.count <= secretLengthMax else { return .failure(.tooLong) }
        let hash = TokenSecret.hash(secret)
        guard let token = state.token(secretHash: hash), TokenSecret.constantTimeEqual(token.secretHash, hash) else { return .failure(.unknown) }
        guard !token.revoked else { return .failure(.revoked(token.id)) }
        guard token.isUsable(at: now) else { return .failure(.expired(token.id)) }
        guard scope.isGranted(by: token.scopes) else { return .failure(.lacksScope(token: token.id, needs: scope, has: token.scopes)) }
        return .success(token)
    }

    static func presentedSecret(_ headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingWhitespace() }
        }
        return headers[HTTPField.Name("x-api-key")!].map { $0.trimmingWhitespace() }
    }
}

/// Admin calls: `TokenAuthenticator` with failures as admin JSON errors.
enum AdminAuthenticator {
    static func authenticate(_ request: Request, state: PolicyState, now: Int64, needs scope: Scope) throws -> AdminIdentity {
        switch TokenAuthenticator.authenticate(request.headers, state: state, now: now, needs: scope) {
        case let .success(token):
            return AdminIdentity(tokenID: token.id, principal: token.principal, scopes: token.scopes)
        case let .failure(failure):
            throw AdminError(failure.isUnauthenticated ? .unauthorized : .forbidden, failure.isUnauthenticated ? "unauthorized" : "forbidden", failure.message)
        }
    }
}

/// Client token secrets: how they are made, shown and hashed.
public enum TokenSecret {
    /// Every secret starts with this, so leaked ones are easy to recognise.
    public static let prefix = "weir_"
    /// Characters of a secret shown in tables.
    public static let displayLength = 12

    /// A new secret: the prefix and 32 random bytes in base64url (43 characters).
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + base64URL(bytes)
    }

    /// A public token id: `tok_` and 16 random hex digits.
    public static func publicID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        "tok_" + String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 16).leftPadded(to: 16)
    }

    /// Lower-case hex SHA-256 of the secret's UTF-8 bytes.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// The secret's first characters and an ellipsis.
    public static func displayPrefix(_ secret: String) -> String { String(secret.prefix(displayLength)) + "…" }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
