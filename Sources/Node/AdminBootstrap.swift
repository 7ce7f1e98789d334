import Consensus
import Foundation
import Gateway
import Logging
import Policy

/// Creates the cluster's first super-admin token once: the leader proposes it while the
/// policy has none; the node whose proposal is applied first writes the secret to
/// `DATA_DIR/admin.token` (mode 0600) and logs the file's path. Any later proposal is
/// refused by the state machine, so there is exactly one.
struct AdminBootstrap: Sendable {
    /// How often to look whether the bootstrap is still needed.
    static let checkInterval = Duration.milliseconds(200)

    let driver: RaftDriver
    let policy: PolicyService
    let dataDirectory: String
    /// Registered right after the admin token: providers from the environment (`ProviderSeed`).
    let providers: [PolicyCommand]
    let logger: Logger

    func run() async {
        while !Task.isCancelled, !policy.current.bootstrapped {
            if await driver.status.softState.role == .leader { await attempt() }
            try? await Task.sleep(for: Self.checkInterval)
        }
        // A service that ends would stop the node: idle until shutdown.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
    }

    private func attempt() async {
        var generator = SystemRandomNumberGenerator()
        let secret = TokenSecret.generate(using: &generator)
        let principal = Principal(
            id: "human:admin", kind: .human, namespace: "tenant:default", groups: ["admins"], app: nil,
            purpose: "the first super-admin, created at the cluster's first start", created: .pending, updated: .pending)
        let token = ClientToken(
            id: TokenSecret.publicID(using: &generator), secretHash: TokenSecret.hash(secret), displayPrefix: TokenSecret.displayPrefix(secret),
            name: "bootstrap super-admin", principal: principal.id, namespace: "tenant:default", user: nil, app: nil,
            scopes: [Scope.adminSuper.rawValue, Scope.modelInvoke.rawValue], expiresAt: nil, revoked: false, created: .pending, updated: .pending)
        do {
            _ = try await policy.submit(PolicyEntry(actor: "system:bootstrap", reason: "first start of the cluster", command: .bootstrapAdmin(principal: principal, token: token)))
        } catch {
            if case .refused = error { return }  // another node's bootstrap was applied first
            logger.debug("admin bootstrap not committed yet", metadata: ["error": "\(error)"])
            return
        }
        let path = dataDirectory + "/admin.token"
        if FileManager.default.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) {
            logger.notice("created the first super-admin token; it is shown once, in this file", metadata: ["file": "\(path)", "token_id": "\(token.id)"])
        } else {
            logger.critical("created the first super-admin token but could not write \(path); revoke \(token.id) with another admin token")
        }
        await registerProviders()
    }

    private func registerProviders() async {
        var registered: [String] = []
        for command in providers {
            do {
                let outcome = try await policy.submit(PolicyEntry(actor: "system:bootstrap", reason: "providers at the cluster's first start", command: command))
                if case .putCredential = command { registered.append(outcome.id) }
            } catch {
                logger.warning("could not register a provider at first start; add it through the admin API", metadata: ["error": "\(error)"])
            }
        }
        if !registered.isEmpty {
            logger.notice("registered provider credentials with deployments and list prices", metadata: ["credentials": "\(registered.joined(separator: ", "))"])
        }
    }
}
