import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import Policy

/// The web console under `/admin/`: server-rendered pages over the admin JSON API (each
/// page runs the same endpoint handlers, as the signed-in token). Sign-in takes an admin
/// token and sets a signed session cookie (HttpOnly, SameSite=Strict, Secure over TLS);
/// every form carries a CSRF token bound to the session; a read-only token sees no write
/// controls; every value is HTML-escaped by the templates.
public struct ConsoleRoutes<Context: RequestContext>: Sendable {
    let admin: AdminRoutes<Context>
    let sessions: ConsoleSessions

    public init(admin: AdminRoutes<Context>, sessions: ConsoleSessions) {
        self.admin = admin
        self.sessions = sessions
    }

    /// The pages in the navigation bar, in order.
    static var navigation: [(href: String, label: String)] {
        [("/admin/", "Dashboard"), ("/admin/keys", "Keys"), ("/admin/policy", "Policy Ops"), ("/admin/usage", "Usage"), ("/admin/monitor", "Monitor"),
         ("/admin/history", "History"), ("/admin/users", "Users"), ("/admin/orgs", "Organizations"), ("/admin/apps", "Apps"),
         ("/admin/router", "Model Router"), ("/admin/profiles", "Agent Profiles"), ("/admin/models", "Models"), ("/admin/logs", "Gateway Logs"),
         ("/admin/dlp", "DLP"), ("/admin/settings", "Settings"), ("/admin/errors", "Error Reports"), ("/admin/cluster", "Cluster")]
    }

    /// The largest form accepted.
    static var formBytesMax: Int { 64 * 1024 }

    /// A signed-in request: who, and its cookie (for CSRF tokens).
    struct Session {
        var identity: AdminIdentity
        var cookie: String
        var canWrite: Bool { Scope.adminWrite.isGranted(by: identity.scopes) }
    }

    public func register(on router: Router<Context>) {
        router.get("/admin/signin") { request, _ in self.page(request, "signin", title: "Sign in", data: [:], session: nil) }
        router.post("/admin/signin") { request, _ in await self.signIn(request) }
        router.post("/admin/signout") { request, _ in
            await self.withSession(request, form: true) { _, _ in
                var response = Self.redirect("/admin/signin")
                response.headers[.setCookie] = Self.cookie("", request: request, maxAge: 0)
                return response
            }
        }
        router.get("/admin/console.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.script)))
        }
        for screen in screens {
            let path = screen.path
            router.get(RouterPath(path)) { request, _ in
                await self.withSession(request) { session, _ in
                    guard let screen = self.screens.first(where: { $0.path == path }) else { return Response(status: .notFound) }
                    return await self.render(request, session, screen)
                }
            }
        }
        router.post("/admin/do/:form") { request, context in
            let id = context.parameters.get("form") ?? ""
            return await self.withSession(request, form: true) { session, form in await self.submit(request, session, id, form) }
        }
    }

    // MARK: Sessions

    private func signIn(_ request: Request) async -> Response {
        // Another site's page must not sign this browser in (as the attacker, whose session
        // would then record what the victim types): browsers say where a request came from.
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!]?.lowercased() == "cross-site" {
            return page(request, "signin", title: "Sign in", data: [:], session: nil,
                        error: "Sign-in refused: the form came from another site. Open /admin/signin on this gateway and sign in there.", status: .forbidden)
        }
        let form = await Self.form(request) ?? [:]
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(form["token"] ?? "")"
        let now = admin.clock()
        switch TokenAuthenticator.authenticate(headers, state: admin.reader.current, now: now, needs: .adminRead) {
        case let .success(token):
            var response = Self.redirect("/admin/")
            response.headers[.setCookie] = Self.cookie(sessions.issue(tokenID: token.id, now: now), request: request, maxAge: Int(ConsoleSessions.lifetimeMilliseconds / 1000))
            return response
        case let .failure(failure):
            return page(request, "signin", title: "Sign in", data: [:], session: nil, error: "Sign-in refused: \(failure.message)", status: .unauthorized)
        }
    }

    /// Runs `body` for a signed-in request (and, for a form, one with the session's CSRF
    /// token); otherwise sends the browser to sign in, or refuses the form.
    private func withSession(_ request: Request, form: Bool = false, _ body: (Session, [String: String]) async -> Response) async -> Response {
        guard let session = session(request) else { return Self.redirect("/admin/signin") }
        var fields: [String: String] = [:]
        if form {
            guard let submitted = await Self.form(request) else {
                return page(request, "signin", title: "Form too large", data: [:], session: nil,
                            error: "The form is over \(Self.formBytesMax / 1024) KiB, the most the console accepts; send a file that large through the JSON API.",
                            status: .contentTooLarge)
            }
            fields = submitted
            guard sessions.checkCSRF(fields["_csrf"], session: session.cookie) else {
                return page(request, "signin", title: "Sign in", data: [:], session: nil,
                            error: "The form's security token did not match this session; reload the page and submit it again.", status: .forbidden)
            }
        }
        return await body(session, fields)
    }

    private func session(_ request: Request) -> Session? {
        sessions.identity(request.headers, state: admin.reader.current, now: admin.clock()).map { Session(identity: $0.identity, cookie: $0.cookie) }
    }

    // MARK: Rendering

    /// The JSON of an admin call as the session (the body as text: JSON, or the YAML of a
    /// profile import), or the error it gave (shown on the page).
    func call(_ method: HTTPRequest.Method, _ uri: String, _ session: Session, text: String? = nil) async -> (json: [String: Any], error: String?) {
        let (status, json) = await admin.perform(method, uri, body: text, identity: session.identity)
        let object = json as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            return (object, ((object["error"] as? [String: Any])?["message"] as? String) ?? "the call failed with status \(status)")
        }
        return (object, nil)
    }

    func page(
        _ request: Request, _ template: String, title: String, data: [String: Any], session: Session?, error: String? = nil,
        status: HTTPResponse.Status = .ok, refresh: Int? = nil
    ) -> Response {
        var data = data
        if let session { data["csrf"] = sessions.csrf(for: session.cookie) }
        let content = ConsoleTemplates.library.render(data, withTemplate: template) ?? ""
        let nav = Self.navigation.map { href, label in ["href": href, "label": label, "on": request.uri.path == href] as [String: Any] }
        var layout: [String: Any] = ["title": title, "style": ConsoleTemplates.style, "content": content, "nav": session == nil ? [] : nav]
        if let error { layout["error"] = error }
        if let refresh { layout["refresh"] = refresh }
        if let session {
            layout["signedIn"] = ["csrf": sessions.csrf(for: session.cookie), "principal": session.identity.principal, "readOnly": !session.canWrite]
        }
        let html = ConsoleTemplates.library.render(layout, withTemplate: "layout") ?? ""
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                      HTTPField.Name("Content-Security-Policy")!: "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                      HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The session cookie: HttpOnly, SameSite=Strict, and Secure when the browser came over TLS.
    static func cookie(_ value: String, request: Request, maxAge: Int) -> String {
        let tls = request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return "\(ConsoleSessions.cookieName)=\(value); Path=/admin; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "")
    }

    /// An `application/x-www-form-urlencoded` body; nil when it is over `formBytesMax`.
    static func form(_ request: Request) async -> [String: String]? {
        guard let buffer = try? await request.body.collect(upTo: formBytesMax) else { return nil }
        return ConsoleQuery.decode(String(buffer: buffer))
    }
}
