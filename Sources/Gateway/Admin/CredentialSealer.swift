import Policy
import HTTPTypes
import Crypto
import Foundation

/// Seals provider secrets with AES-256-GCM under the key-encryption key (KEK) before they
/// enter the Raft log, and opens them where a request needs them. The credential's id is
/// bound as authenticated data, so a sealed secret cannot be moved to another credential.
public struct CredentialSealer: Sendable {
    let key: SymmetricKey
    /// Other keys that open sealed secrets, during a rotation of the KEK.
    let accepted: [SymmetricKey]

    /// A sealer over a 32-byte key; `accepted` keys (32 bytes each) also open.
    public init(key: [UInt8], accepted: [[UInt8]] = []) {
        precondition(key.count == 32 && accepted.allSatisfy { $0.count == 32 }, "a key-encryption key must be 32 bytes")
        self.key = SymmetricKey(data: key)
        self.accepted = accepted.map { SymmetricKey(data: $0) }
    }

    /// Nonce, ciphertext and tag of `secret` for credential `id`.
    public func seal(_ secret: String, for id: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(id.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    /// The secret sealed for `id`; throws when the bytes were not sealed for it with this
    /// key or an accepted one.
    public func open(_ sealed: [UInt8], for id: String) throws -> String {
        try openNoting(sealed, for: id).secret
    }

    /// The secret, and whether it was sealed with the current key.
    func openNoting(_ sealed: [UInt8], for id: String) throws -> (secret: String, current: Bool) {
        let box = try AES.GCM.SealedBox(combined: sealed)
        var failure: (any Error)?
        for (index, candidate) in ([key] + accepted).enumerated() {
            do {
                return (String(decoding: try AES.GCM.open(box, using: candidate, authenticating: Array(id.utf8)), as: UTF8.self), index == 0)
            } catch {
                failure = error
            }
        }
        throw failure ?? CryptoKitError.authenticationFailure
    }
}
