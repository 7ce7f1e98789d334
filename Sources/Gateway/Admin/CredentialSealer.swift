import Policy
import HTTPTypes
import Crypto
import Foundation

/// Seals provider secrets with AES-256-GCM under the key-encryption key (KEK) before they
/// enter the Raft log, and opens them where a request needs them. The credential's id is
/// bound as authenticated data, so a sealed secret cannot be moved to another credential.
public struct CredentialSealer: Sendable {
    let key: SymmetricKey

    /// A sealer over a 32-byte key.
    public init(key: [UInt8]) {
        precondition(key.count == 32, "the key-encryption key must be 32 bytes")
        self.key = SymmetricKey(data: key)
    }

    /// Nonce, ciphertext and tag of `secret` for credential `id`.
    public func seal(_ secret: String, for id: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(id.utf8))
        guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
        return Array(combined)
    }

    /// The secret sealed for `id`; throws when the bytes were not sealed with this key for it.
    public func open(_ sealed: [UInt8], for id: String) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: key, authenticating: Array(id.utf8)), as: UTF8.self)
    }
}
