import Foundation
import Hummingbird
import Policy

extension ConsoleRoutes {
    /// The JSON of an admin call as the session, or the error it gave (shown on the page).
    func call(_ method: HTTPRequest.Method, _ uri: String, _ session: Session, body: [String: Any]? = nil) async -> (json: [String: Any], error: String?) {
        let text = body.flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { String(decoding: $0, as: UTF8.self) }
        return await call(method, uri, session, text: text)
    }

    /// The same, with the body as text (JSON, or the YAML of a profile import).
    func call(_ method: HTTPRequest.Method, _ uri: String, _ session: Session, text: String?) async -> (json: [String: Any], error: String?) {
        let (status, json) = await admin.perform(method, uri, body: text, identity: session.identity)
        let object = json as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            return (object, ((object["error"] as? [String: Any])?["message"] as? String) ?? "the call failed with status \(status)")
        }
        return (object, nil)
    }

    /// Query parameters of the page, passed on to the API (only `names`, escaped).
    private func query(_ request: Request, _ names: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for name in names { if let value = request.uri.queryParameters.get(name), !value.isEmpty { out[name] = value } }
        return out
    }

    // MARK: Dashboard

    func dashboard(_ request: Request, _ session: Session) async -> Response {
        async let live = call(.get, "/admin/api/usage/live", session)
        async let totals = call(.get, "/admin/api/usage/totals?period=24h", session)
        async let days = call(.get, "/admin/api/usage/cost-per-day?days=7", session)
        async let providers = call(.get, "/admin/api/usage/providers?period=24h", session)
        async let spenders = call(.get, "/admin/api/usage/top-spenders?period=24h&limit=10", session)
        let answers = await [live, totals, days, providers, spenders]
        let t = answers[1].json
        func money(_ value: Any?) -> String { String(format: "%.4f", (value as? Double) ?? Double((value as? Int) ?? 0)) }
        let missing = Set(answers.flatMap { (($0.json["nodes"] as? [String: Any])?["missing"] as? [Int]) ?? [] }).sorted()
        let data: [String: Any] = [
            "live": answers[0].json,
            "totals": [
                "requests": t["requests"] ?? 0, "cost": money(t["cost_usd"]), "active_users": t["active_users"] ?? 0,
                "avg": String(format: "%.6f", t["avg_cost_per_request_usd"] as? Double ?? 0), "input_tokens": t["input_tokens"] ?? 0,
                "output_tokens": t["output_tokens"] ?? 0, "errors": t["errors"] ?? 0,
                "hit_rate": String(format: "%.1f", 100 * (t["cache_hit_rate"] as? Double ?? 0)),
            ],
            "partial": missing.isEmpty ? "" : missing.map { "n\($0)" }.joined(separator: ", "),
            "chart": ConsoleChart.costBars(answers[2].json["days"] as? [[String: Any]] ?? []),
            "routing": answers[3].json["routing_strategy"] ?? "-",
            "providers": (answers[3].json["items"] as? [[String: Any]] ?? []).map { item -> [String: Any] in
                ["provider": item["provider"] ?? "", "model": item["model"] ?? "", "requests": item["requests"] ?? 0,
                 "share": String(format: "%.1f", 100 * (item["share"] as? Double ?? 0)), "cost": money(item["cost_usd"]), "errors": item["errors"] ?? 0]
            },
            "spenders": (answers[4].json["items"] as? [[String: Any]] ?? []).map { item -> [String: Any] in
                ["user": item["user"] ?? "", "email": item["email"] ?? "", "requests": item["requests"] ?? 0, "cost": money(item["cost_usd"])]
            },
        ]
        return page(request, "dashboard", title: "Dashboard", data: data, session: session, error: answers.compactMap(\.error).first)
    }

    // MARK: Users

    func users(_ request: Request, _ session: Session, error: String? = nil) async -> Response {
        let filter = query(request, ["org", "status", "role"])
        var api = filter
        if let cursor = request.uri.queryParameters.get("cursor") { api["cursor"] = String(cursor) }
        let (json, failure) = await call(.get, "/admin/api/users?" + ConsoleQuery.encode(api), session)
        let next = (json["next_cursor"] as? String).map { "/admin/users?" + ConsoleQuery.encode(filter.merging(["cursor": $0]) { $1 }) }
        var data: [String: Any] = [
            "items": json["items"] as? [[String: Any]] ?? [], "filter": filter,
            "statuses": User.Status.allCases.map { ["name": $0.rawValue, "selected": filter["status"] == $0.rawValue] },
            "roles": User.Role.allCases.map { ["name": $0.rawValue, "selected": filter["role"] == $0.rawValue] },
        ]
        if let next { data["next"] = next }
        return page(request, "users", title: "Users", data: data, session: session, error: error ?? failure)
    }

    func createUser(_ request: Request, _ session: Session, _ form: [String: String]) async -> Response {
        var body: [String: Any] = ["id": form["id"] ?? ""]
        for key in ["display_name", "email", "organization"] { if let value = form[key], !value.isEmpty { body[key] = value } }
        let (_, failure) = await call(.post, "/admin/api/users", session, body: body)
        if let failure { return await users(request, session, error: failure) }
        return Self.redirect("/admin/users")
    }

    // MARK: Keys

    func keys(_ request: Request, _ session: Session, error: String? = nil) async -> Response {
        var api: [String: String] = [:]
        if let cursor = request.uri.queryParameters.get("cursor") { api["cursor"] = String(cursor) }
        let (json, failure) = await call(.get, "/admin/api/tokens?" + ConsoleQuery.encode(api), session)
        let items = (json["items"] as? [[String: Any]] ?? []).map { item -> [String: Any] in
            var row = item
            row["scopes"] = (item["scopes"] as? [String] ?? []).joined(separator: ", ")
            row["canRevoke"] = session.canWrite && item["status"] as? String == "active"
            return row
        }
        let next = (json["next_cursor"] as? String).map { "/admin/keys?" + ConsoleQuery.encode(["cursor": $0]) }
        var data: [String: Any] = ["items": items]
        if let next { data["next"] = next }
        return page(request, "keys", title: "Keys", data: data, session: session, error: error ?? failure)
    }

    func issueKey(_ request: Request, _ session: Session, _ form: [String: String]) async -> Response {
        var body: [String: Any] = ["principal": form["principal"] ?? ""]
        for key in ["user", "app", "name"] { if let value = form[key], !value.isEmpty { body[key] = value } }
        let scopes = (form["scopes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !scopes.isEmpty { body["scopes"] = scopes }
        let (json, failure) = await call(.post, "/admin/api/tokens", session, body: body)
        if let failure { return await keys(request, session, error: failure) }
        let token = json["token"] as? [String: Any] ?? [:]
        return page(request, "issued", title: "Token issued",
                    data: ["id": token["id"] ?? "", "principal": token["principal"] ?? "", "secret": json["secret"] ?? ""], session: session)
    }

    func revokeKey(_ request: Request, _ session: Session, _ form: [String: String]) async -> Response {
        let id = (form["id"] ?? "").addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
        let (_, failure) = await call(.post, "/admin/api/tokens/\(id)/revoke", session, body: [:])
        if let failure { return await keys(request, session, error: failure) }
        return Self.redirect("/admin/keys")
    }
}

/// Charts drawn as inline SVG from the JSON, on the server.
enum ConsoleChart {
    /// Bars of cost per day, with the day and the amount under and over each.
    static func costBars(_ days: [[String: Any]]) -> String {
        guard !days.isEmpty else { return "<p class=\"empty\">No data.</p>" }
        let costs = days.map { ($0["cost_usd"] as? Double) ?? Double(($0["cost_usd"] as? Int) ?? 0) }
        let top = max(costs.max() ?? 0, 0.000001)
        let width = 80, height = 140
        var svg = "<svg role=\"img\" aria-label=\"cost per day\" width=\"\(width * days.count)\" height=\"\(height + 40)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, day) in days.enumerated() {
            let bar = Int(Double(height - 20) * costs[index] / top)
            let x = index * width + 10
            let date = escape((day["date"] as? String).map { String($0.suffix(5)) } ?? "")
            svg += "<rect x=\"\(x)\" y=\"\(height - bar)\" width=\"\(width - 20)\" height=\"\(bar)\" fill=\"#4f6bed\"></rect>"
            svg += "<text x=\"\(x)\" y=\"\(height - bar - 4)\" font-size=\"11\">$\(String(format: "%.2f", costs[index]))</text>"
            svg += "<text x=\"\(x)\" y=\"\(height + 16)\" font-size=\"11\">\(date)</text>"
        }
        return svg + "</svg>"
    }

    /// Bars of requests per minute (errors in red), the hour's minutes oldest first.
    static func minuteBars(_ minutes: [[String: Any]]) -> String {
        guard !minutes.isEmpty else { return "<p class=\"empty\">No data.</p>" }
        let requests = minutes.map { $0["requests"] as? Int ?? 0 }
        let top = max(requests.max() ?? 0, 1)
        let width = 12, height = 100
        var svg = "<svg role=\"img\" aria-label=\"requests per minute\" width=\"\(width * minutes.count + 40)\" height=\"\(height + 30)\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<text x=\"0\" y=\"10\" font-size=\"11\">\(top)/min</text>"
        for (index, minute) in minutes.enumerated() {
            let bar = height * requests[index] / top
            let failed = height * min(minute["errors"] as? Int ?? 0, requests[index]) / top
            let x = 40 + index * width
            svg += "<rect x=\"\(x)\" y=\"\(height - bar + 14)\" width=\"\(width - 2)\" height=\"\(bar)\" fill=\"#4f6bed\"><title>\(requests[index]) requests</title></rect>"
            if failed > 0 { svg += "<rect x=\"\(x)\" y=\"\(height - failed + 14)\" width=\"\(width - 2)\" height=\"\(failed)\" fill=\"#d64545\"></rect>" }
        }
        return svg + "<text x=\"40\" y=\"\(height + 28)\" font-size=\"11\">60 min ago</text><text x=\"\(width * minutes.count)\" y=\"\(height + 28)\" font-size=\"11\">now</text></svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
