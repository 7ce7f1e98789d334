import Foundation
import Gateway
import Logging
import Policy
import Storage

/// The offline way back in when no usable super-admin token is left (lost, expired or
/// never written): `weir recover-admin --data-dir DIR` on a stopped node leaves a new
/// secret in `DIR/admin.recovery`; the node's next start issues a super-admin token with
/// that secret through the Raft log (so every node knows it and the audit history names
/// it), then moves the file to `DIR/admin.token`.
///
/// Anyone who can write a node's data directory holds its keys already (the cluster
/// secret, the key-encryption key), so the file grants nothing they lacked; the secret
/// never leaves the machine, and the token is an ordinary one that can be revoked.
public enum AdminRecovery {
    /// The file a recovery request is kept in, beside the database.
    public static func requestPath(dataDirectory: String) -> String { dataDirectory + "/admin.recovery" }

    public enum Failure: Error, CustomStringConvertible {
        case noDatabase(String)
        case running(String)
        case unwritable(String)

        public var description: String {
            switch self {
            case let .noDatabase(path): "\(path) holds no node database; give the data directory of a node that has run"
            case let .running(path): "the node using \(path) is running (its database is locked); stop it, then run recover-admin again"
            case let .unwritable(path): "could not write \(path); check the directory's owner and permissions"
            }
        }
    }

    /// Writes a recovery request into a stopped node's data directory; returns its path.
    public static func request(dataDirectory: String) throws(Failure) -> String {
        let database = StorageLayout.databasePath(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: database + "/CURRENT") else { throw .noDatabase(dataDirectory) }
        // RocksDB's lock tells whether the node is running.
        do { try Database(path: database, columnFamilies: StorageLayout.all).close() } catch { throw .running(dataDirectory) }
        var generator = SystemRandomNumberGenerator()
        let path = requestPath(dataDirectory: dataDirectory)
        let secret = TokenSecret.generate(using: &generator)
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw .unwritable(path)
        }
        return path
    }

    /// The node's side: while a request is waiting, proposes its token (creating the
    /// `human:admin` principal if it is gone) until it is applied, then hands the secret
    /// over in `admin.token`. Idempotent: a token with the secret's hash already applied
    /// only completes the hand-over.
    static func complete(dataDirectory: String, policy: PolicyService, nodeID: UInt64, logger: Logger) async {
        let path = requestPath(dataDirectory: dataDirectory)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { return }
        while !Task.isCancelled {
            var done = policy.current.token(secretHash: TokenSecret.hash(secret)) != nil
            if !done { done = await propose(secret, policy: policy, nodeID: nodeID, logger: logger) }
            if done {
                handOver(path, dataDirectory: dataDirectory, logger: logger)
                return
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private static func propose(_ secret: String, policy: PolicyService, nodeID: UInt64, logger: Logger) async -> Bool {
        var generator = SystemRandomNumberGenerator()
        let principal = "human:admin"
        let reason = "weir recover-admin on node \(nodeID)"
        do {
            if policy.current.principals[principal] == nil {
                _ = try await policy.submit(PolicyEntry(actor: "system:recover-admin", reason: reason, command: .putPrincipal(Principal(
                    id: principal, kind: .human, namespace: "tenant:default", groups: ["admins"], app: nil,
                    purpose: "super-admin recovered offline", created: .pending, updated: .pending))))
            }
            let token = ClientToken(
                id: TokenSecret.publicID(using: &generator), secretHash: TokenSecret.hash(secret), displayPrefix: TokenSecret.displayPrefix(secret),
                name: "recovered super-admin", principal: principal, namespace: "tenant:default", user: nil, app: nil,
                scopes: [Scope.adminSuper.rawValue, Scope.modelInvoke.rawValue], expiresAt: nil, revoked: false, created: .pending, updated: .pending)
            _ = try await policy.submit(PolicyEntry(actor: "system:recover-admin", reason: reason, command: .issueToken(token)))
            logger.notice("issued a recovered super-admin token", metadata: ["token_id": "\(token.id)"])
            return true
        } catch {
            logger.info("admin recovery not committed yet; retrying", metadata: ["error": "\(error)"])
            return false
        }
    }

    private static func handOver(_ path: String, dataDirectory: String, logger: Logger) {
        let target = dataDirectory + "/admin.token"
        try? FileManager.default.removeItem(atPath: target)
        do {
            try FileManager.default.moveItem(atPath: path, toPath: target)
            logger.notice("the recovered super-admin token is in this file", metadata: ["file": "\(target)"])
        } catch {
            logger.critical("the recovered super-admin token is in \(path); could not move it to \(target): \(error)")
        }
    }
}
