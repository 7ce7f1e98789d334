import Hummingbird
import Policy

/// Stage authenticate (with the caller's part of authorize): the token behind the
/// request's `Authorization` or `x-api-key`, with the `model.invoke` scope, and the user
/// and app it is bound to, active. Fails with 401 or 403.
struct Authenticate: Sendable {
    let reader: any PolicyReader
    let clock: @Sendable () -> Int64

    /// The policy in force and the caller.
    func run(_ request: Request) throws(GatewayError) -> (state: PolicyState, caller: Caller) {
        let state = reader.current
        return (state, try caller(request, state: state))
    }

    func caller(_ request: Request, state: PolicyState) throws(GatewayError) -> Caller {
        switch TokenAuthenticator.authenticate(request.headers, state: state, now: clock(), needs: .modelInvoke) {
        case let .success(token):
            switch Caller.resolve(token, in: state) {
            case let .success(caller): return caller
            case let .failure(error): throw error
            }
        case let .failure(failure): throw GatewayError.authentication(failure)
        }
    }
}
