import HTTPTypes
import Policy

extension AdminRoutes {
    /// `POST /admin/api/credentials/reseal`: the second step of a KEK rotation
    /// (docs/operations.md). Every credential sealed with an accepted (old) key is opened
    /// and sealed again with the current one, through the log; a secret never leaves the
    /// node in the clear.
    var resealEndpoints: [AdminEndpoint] {
        let sealer = self.sealer
        return [
            AdminEndpoint(
                method: .post, path: "/admin/api/credentials/reseal", scope: .adminSuper, tag: "Credentials",
                summary: "Seal every credential's secret again with the current key-encryption key (after cluster.kek_file changed)",
                response: .object([
                    .init("resealed", .array(.text(), description: "credentials sealed again"), required: true),
                    .init("current", .integer(description: "credentials already sealed with the current key"), required: true),
                    .init("unreadable", .array(.text(), description: "credentials no configured key opens: enter their secrets again"), required: true),
                ]),
                handler: { call in
                    let state = try await call.state()
                    var resealed: [String] = [], unreadable: [String] = [], current = 0
                    for credential in state.credentials.values.sorted(by: { $0.id < $1.id }) {
                        guard let sealed = credential.sealedSecret else { continue }
                        guard let opened = try? sealer.openNoting(sealed, for: credential.id) else {
                            unreadable.append(credential.id)
                            continue
                        }
                        if opened.current {
                            current += 1
                            continue
                        }
                        var updated = credential
                        updated.sealedSecret = try sealer.seal(opened.secret, for: credential.id)
                        _ = try await call.submit(.putCredential(updated), reason: "reseal under the current key-encryption key")
                        resealed.append(credential.id)
                    }
                    return try .json(ResealOutcome(resealed: resealed, current: current, unreadable: unreadable))
                }),
        ]
    }
}

struct ResealOutcome: Encodable, Sendable {
    var resealed: [String]
    var current: Int
    var unreadable: [String]
}
