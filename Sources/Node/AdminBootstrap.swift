import Consensus
import Foundation
import Gateway
import Logging
import Policy

/// Creates the cluster's first super-admin token once: the leader proposes it while the
/// policy has none. The secret is written (mode 0600) before it is proposed, so a token
/// that commits is never one whose secret is lost: the node whose proposal is applied
/// first renames `DATA_DIR/admin.token.pending` to `admin.token` and logs the path. Any
/// later proposal is refused by the state machine, so there is exactly one. Then it
/// completes an offline recovery request, if one waits (`AdminRecovery`).
struct AdminBootstrap: Sendable {
    /// How often to look whether the bootstrap is still needed.
    static let checkInterval = Duration.milliseconds(200)

    let driver: RaftDriver
    let policy: PolicyService
    let dataDirectory: String
    /// Registered right after the admin token: providers from the environment (`ProviderSeed`).
    let providers: [PolicyCommand]
    let logger: Logger
    let nodeID: UInt64

    func run() async {
        while !Task.isCancelled, !policy.current.bootstrapped {
            if await driver.status.softState.role == .leader { await attempt() }
            try? await Task.sleep(for: Self.checkInterval)
        }
        await AdminRecovery.complete(dataDirectory: dataDirectory, policy: policy, nodeID: nodeID, logger: logger)
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
        let path = dataDirectory + "/admin.token", pending = path + ".pending"
        guard FileManager.default.createFile(atPath: pending, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            logger.error("cannot write \(pending), so the first super-admin token is not created yet; check the data directory's permissions")
            return
        }
        do {
            _ = try await policy.submit(PolicyEntry(actor: "system:bootstrap", reason: "first start of the cluster", command: .bootstrapAdmin(principal: principal, token: token)))
        } catch {
            try? FileManager.default.removeItem(atPath: pending)
            if case .refused = error { return }  // another node's bootstrap was applied first
            logger.debug("admin bootstrap not committed yet", metadata: ["error": "\(error)"])
            return
        }
        do {
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: pending, toPath: path)
            logger.notice("created the first super-admin token; it is shown once, in this file", metadata: ["file": "\(path)", "token_id": "\(token.id)"])
        } catch {
            logger.critical("created the first super-admin token; its secret is in \(pending) (could not rename it to \(path): \(error))")
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
