import HTTPTypes
import Policy

/// Who is calling the data plane: the token and what it is bound to, checked for status,
/// with the quota subjects its requests count against.
struct Caller: Sendable {
    let token: ClientToken
    let user: User?
    let app: Application?
    /// The user's organization: its aliases win, its quotas apply.
    let organization: String?

    /// The lanes and subjects every request of this caller counts against (the `key`
    /// lane is added per attempt: it belongs to the provider credential used).
    var subjects: [(lane: QuotaLane, subject: String)] {
        var subjects: [(lane: QuotaLane, subject: String)] = [(.token, token.id), (.principal, token.principal)]
        if let user { subjects.append((.user, user.id)) }
        if let app { subjects.append((.app, app.id)) }
        if let organization { subjects.append((.org, organization)) }
        return subjects
    }

    /// The caller behind `token`, or why it may not call: a suspended or disabled user, an
    /// inactive app.
    static func resolve(_ token: ClientToken, in state: PolicyState) -> Result<Caller, GatewayError> {
        let user = token.user.flatMap { state.users[$0] }
        if let user, user.status != .active {
            return .failure(GatewayError(
                status: .forbidden, type: "permission_error", code: "user_inactive",
                message: "user \(user.id) is \(user.status.rawValue); an admin can reactivate it"))
        }
        let app = token.app.flatMap { state.applications[$0] }
        if let app, !app.active {
            return .failure(GatewayError(
                status: .forbidden, type: "permission_error", code: "app_inactive",
                message: "app \(app.id) is not active; an admin can activate it"))
        }
        return .success(Caller(token: token, user: user, app: app, organization: user?.organization))
    }
}
