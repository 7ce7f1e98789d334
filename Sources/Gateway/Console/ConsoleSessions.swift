import Crypto
import Foundation
import HTTPTypes
import Policy

/// The console's sign-in, kept by the browser and checked by any node: a cookie holding
/// the token's id and an expiry, signed with HMAC-SHA256 under a key derived from the
/// cluster secret (every node has it; the cookie never holds the token's secret). The
/// token is looked up again on every page, so revoking it signs the browser out.
public struct ConsoleSessions: Sendable {
    static let cookieName = "weir_session"
    /// How long a sign-in lasts.
    static let lifetimeMilliseconds: Int64 = 12 * 3_600_000

    private let key: SymmetricKey

    /// Sessions keyed from `secret` (the cluster secret).
    public init(secret: [UInt8]) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), info: Array("weir console session v1".utf8), outputByteCount: 32)
    }

    /// The cookie value for `tokenID`, valid until `now` + the lifetime.
    func issue(tokenID: String, now: Int64) -> String {
        let body = "\(tokenID).\(now + Self.lifetimeMilliseconds)"
        return body + "." + mac(body)
    }

    /// The token id of a valid, unexpired cookie value.
    func verify(_ value: String, now: Int64) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[1]), expiry > now else { return nil }
        let body = "\(parts[0]).\(parts[1])"
        guard let given = ClusterSignature.bytes(fromHex: String(parts[2])),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(body.utf8), using: key) else { return nil }
        return String(parts[0])
    }

    /// The CSRF token every form of this session carries: bound to the session cookie.
    func csrf(for session: String) -> String { mac("csrf." + session) }

    /// True when `token` is the session's CSRF token (constant time).
    func checkCSRF(_ token: String?, session: String) -> Bool {
        guard let token, let given = ClusterSignature.bytes(fromHex: token) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(("csrf." + session).utf8), using: key)
    }

    /// Who a request's session cookie signs in, when it holds a valid session of a token
    /// that is still usable and still has `admin.read`.
    func identity(_ headers: HTTPFields, state: PolicyState, now: Int64) -> (identity: AdminIdentity, cookie: String)? {
        guard let cookie = Self.cookieValue(headers), let tokenID = verify(cookie, now: now), let token = state.tokens[tokenID],
              token.isUsable(at: now), Scope.adminRead.isGranted(by: token.scopes)
        else { return nil }
        return (AdminIdentity(tokenID: token.id, principal: token.principal, scopes: token.scopes), cookie)
    }

    /// The session cookie's value in `headers`.
    static func cookieValue(_ headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == cookieName { return String(pair[1]) }
            }
        }
        return nil
    }

    private func mac(_ text: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }
}
