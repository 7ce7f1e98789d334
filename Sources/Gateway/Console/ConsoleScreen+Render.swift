import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import Policy

extension ConsoleRoutes {
    /// A form that failed, with what was typed (shown again, so nothing is lost).
    struct FailedForm {
        var id: String
        var values: [String: String]
        /// It edited a record (its values came from one).
        var editing: Bool
    }

    /// Renders `screen` for the session. A page with several tables keeps each one's
    /// filters and cursor under its own prefix (`quotas.lane`), so paging one leaves the
    /// others where they were.
    func render(_ request: Request, _ session: Session, _ screen: ConsoleScreen, error: String? = nil, failed: FailedForm? = nil) async -> Response {
        let query = Self.query(request)
        let prefixed = screen.tables.count > 1
        var html = ""
        for section in screen.sections {
            switch section {
            case let .cards(cards): html += await cardsHTML(cards, query, session)
            case let .chart(title, api, draw):
                let (json, failure) = await call(.get, api, session)
                html += "<h2>\(ConsoleChart.escape(title))</h2>" + (failure.map { "<p class=\"error\">\(ConsoleChart.escape($0))</p>" } ?? draw(json))
            case let .table(table): html += await tableHTML(table, screen.path, prefix: prefixed ? table.id + "." : "", query, session)
            case let .form(form): html += await formHTML(form, screen.path, query, session, failed: failed?.id == form.id ? failed : nil)
            case .period:
                let chosen = query["period"] ?? "24h"
                let options = UsagePeriod.periods.sorted { $0.value < $1.value }
                    .map { "<option value=\"\($0.key)\" \($0.key == chosen ? "selected" : "")>\($0.key)</option>" }.joined()
                html += "<form class=\"filters\" method=\"get\" action=\"\(screen.path)\"><label>Period <select name=\"period\">\(options)</select></label>"
                    + " <button id=\"period\">Show</button></form>"
            case let .links(links):
                html += "<p class=\"actions\">" + links.map { "<a href=\"\(ConsoleChart.escape($0.href))\">\(ConsoleChart.escape($0.label))</a>" }.joined(separator: " · ") + "</p>"
            }
        }
        var data: [String: Any] = ["html": html]
        if let intro = screen.intro { data["intro"] = intro }
        if let done = query["done"], let form = self.form(done) { data["done"] = "\(form.title): done." }
        return page(request, "screen", title: screen.title, data: data, session: session, error: error, refresh: failed == nil ? screen.refresh : nil)
    }

    /// The page's query parameters that have a value (`+` read as a space, as browsers send it).
    static func query(_ request: Request) -> [String: String] {
        ConsoleQuery.decode(request.uri.query ?? "").filter { !$0.value.isEmpty }
    }

    private func cardsHTML(_ cards: ConsoleScreen.Cards, _ query: [String: String], _ session: Session) async -> String {
        let passed = ConsoleQuery.encode(query.filter { cards.passing.contains($0.key) })
        let (json, failure) = await call(.get, cards.api + (passed.isEmpty ? "" : "?" + passed), session)
        var data: [String: Any] = [
            "title": cards.title,
            "cards": cards.cards.map { ["label": $0.label, "value": failure == nil ? ConsoleFormat.cell($0.key, json[$0.key]) : "-"] },
        ]
        if let failure { data["error"] = failure }
        if let partial = Self.missingNodes(json) { data["partial"] = partial }
        return ConsoleTemplates.library.render(data, withTemplate: "cards") ?? ""
    }

    /// The nodes an analytics answer lacks ("n2, n3"), nil when it is whole.
    static func missingNodes(_ json: [String: Any]) -> String? {
        let missing = (json["nodes"] as? [String: Any])?["missing"] as? [Int] ?? []
        return missing.isEmpty ? nil : missing.map { "n\($0)" }.joined(separator: ", ")
    }

    private func tableHTML(_ table: ConsoleScreen.Table, _ path: String, prefix: String, _ query: [String: String], _ session: Session) async -> String {
        let apiPath = String(table.api.split(separator: "?").first ?? "")
        let parameters = AdminRoutes<Context>.route(.get, apiPath, in: admin.endpoints)?.0.parameters ?? []
        var api: [String: String] = [:]
        for name in table.filters + ["cursor"] { if let value = query[prefix + name] { api[name] = value } }
        for name in table.passing { if let value = query[name] { api[name] = value } }
        if api["limit"] == nil, let size = table.pageSize { api["limit"] = String(size) }
        let encoded = ConsoleQuery.encode(api)
        let (object, failure) = await call(.get, table.api + (encoded.isEmpty ? "" : (table.api.contains("?") ? "&" : "?") + encoded), session)
        let csrf = sessions.csrf(for: session.cookie)
        // The buttons and the edit link this session may use, decided once for all rows.
        let actions = table.actions.filter { action in form(action.form).map { allowed($0, session) } ?? false }
        let editable = table.edit.flatMap(form).map { allowed($0, session) } ?? false
        let rows = failure != nil ? [] : table.items(object).map { item -> [String: Any] in
            var row: [String: Any] = ["cells": table.columns.map { $0.value(item) }]
            row["actions"] = actions.compactMap { action -> [String: Any]? in
                guard let values = action.values(item) else { return nil }
                return ["form": action.form, "label": action.label, "csrf": csrf, "back": path,
                        "subject": values.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "),
                        "fields": values.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }]
            }
            var links: [[String: String]] = []
            if editable, let edit = table.edit, let id = item["id"] as? String {
                links.append(["href": path + "?" + ConsoleQuery.encode(["edit": id]) + "#form-" + edit, "label": "Edit"])
            }
            if let link = table.link?(item, query) { links.append(["href": link.href, "label": link.label]) }
            row["links"] = links
            return row
        }
        // The other tables' state, kept by this table's filter form.
        let keep = query.filter { key, _ in
            let own = prefix.isEmpty ? table.filters.contains(key) || key == "cursor" : key.hasPrefix(prefix)
            return !own && key != "done" && key != "edit"
        }
        var data: [String: Any] = [
            "path": path, "id": table.id, "columns": table.columns.map(\.label), "rows": rows, "empty": table.empty,
            "span": table.columns.count + 1, "hasFilters": !table.filters.isEmpty,
            "keep": keep.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] },
            "filters": table.filters.map { name -> [String: Any] in
                let parameter = parameters.first { $0.name == name }
                var filter: [String: Any] = ["name": prefix + name, "label": ConsoleForm.Field(name: name, kind: .text, place: .query, required: false, hint: "").label,
                                             "hint": parameter?.description ?? ""]
                var choices: [String]?
                switch parameter?.schema {
                case let .string(_, allowed?)?: choices = allowed
                case .boolean?: choices = ["true", "false"]
                default: break
                }
                if let allowed = choices {
                    filter["choice"] = true
                    filter["options"] = [["value": "", "label": parameter?.description.contains("default") == true ? "default" : "any", "selected": false]] + allowed.map { ["value": $0, "label": $0, "selected": query[prefix + name] == $0] }
                } else {
                    filter["value"] = query[prefix + name] ?? ""
                }
                return filter
            },
        ]
        if let title = table.title { data["title"] = title }
        data["reset"] = path + (keep.isEmpty ? "" : "?" + ConsoleQuery.encode(keep)) + "#" + table.id
        if let failure { data["failure"] = failure }
        if let partial = Self.missingNodes(object) { data["partial"] = partial }
        if let next = object["next_cursor"] as? String {
            data["next"] = path + "?" + ConsoleQuery.encode(query.filter { $0.key != "done" }.merging([prefix + "cursor": next]) { $1 }) + "#" + table.id
        }
        return ConsoleTemplates.library.render(data, withTemplate: "table") ?? ""
    }

    /// Whether the session may use `form` (its endpoint's scope).
    func allowed(_ form: ConsoleForm, _ session: Session) -> Bool {
        guard let endpoint = endpoint(of: form) else { return false }
        return endpoint.scope.isGranted(by: session.identity.scopes)
    }

    func endpoint(of form: ConsoleForm) -> AdminEndpoint? {
        admin.endpoints.first { $0.method == form.method && $0.path == form.api }
    }

    private func formHTML(_ form: ConsoleForm, _ path: String, _ query: [String: String], _ session: Session, failed: FailedForm?) async -> String {
        guard let endpoint = endpoint(of: form), allowed(form, session) else { return "" }
        let fields = form.fields(of: endpoint)
        var values: [String: String] = failed?.values ?? [:]
        var failure: String?
        var open = failed != nil
        var editing = failed?.editing ?? false
        if failed == nil, var prefill = form.prefill {
            if let edit = query["edit"] {
                prefill = prefill.replacingOccurrences(of: "{edit}", with: ConsoleQuery.escape(edit))
            }
            if !prefill.contains("{edit}") {
                let (json, error) = await call(.get, prefill, session)
                failure = error
                open = true
                editing = error == nil && prefill != form.prefill
                for field in fields { values[field.name] = ConsoleForm.text(json[field.name], field) }
            }
        }
        let get = form.method == .get
        let data: [String: Any] = [
            "id": form.id, "title": form.title, "intro": form.intro ?? "", "button": form.button, "csrf": sessions.csrf(for: session.cookie),
            "back": path, "get": get, "open": open, "editing": editing, "action": get ? form.api : "/admin/do/" + form.id, "failure": failure ?? "",
            "fields": fields.map { field -> [String: Any] in
                let value = values[field.name] ?? ""
                var out: [String: Any] = [
                    "name": field.name, "label": field.label, "hint": field.hint, "required": field.required && !get, "value": value, "choice": false,
                    "textarea": false, "type": false,
                ]
                switch field.kind {
                case let .choice(allowed):
                    out["choice"] = true
                    out["options"] = (field.required ? [] : [["value": "", "label": "—", "selected": value.isEmpty]])
                        + allowed.map { ["value": $0, "label": $0, "selected": value == $0] }
                case .flag:
                    out["choice"] = true
                    out["options"] = [("", "—"), ("true", "yes"), ("false", "no")].map { ["value": $0.0, "label": $0.1, "selected": value == $0.0] }
                case .lines, .json, .raw: out["textarea"] = true
                case .secret: out["type"] = "password"
                case .integer: out["type"] = "number"
                case .number: out["type"] = "text"; out["inputmode"] = "decimal"
                case .text, .list: out["type"] = "text"
                }
                return out
            },
        ]
        return ConsoleTemplates.library.render(data.filter { !($0.value is String) || !($0.value as! String).isEmpty }, withTemplate: "form") ?? ""
    }

    /// A form submitted: sent to its endpoint as the session; on success back to the page
    /// it came from, on failure that page again with the error and what was typed.
    func submit(_ request: Request, _ session: Session, _ id: String, _ values: [String: String]) async -> Response {
        let back = screens.first { $0.path == values["_back"] } ?? screens[0]
        guard let form = form(id), let endpoint = endpoint(of: form) else {
            return await render(request, session, back, error: "No form \(id) on this page; reload it and try again.")
        }
        let editing = values["_edit"] == "1"
        let failed = FailedForm(id: id, values: values.filter { !$0.key.hasPrefix("_") }, editing: editing)
        switch form.request(values, endpoint: endpoint, editing: editing) {
        case let .failure(error):
            return await render(request, session, back, error: error.message, failed: failed)
        case let .success((uri, body)):
            let (json, failure) = await call(form.method, uri, session, text: body)
            if let failure { return await render(request, session, back, error: "\(form.title): \(failure)", failed: failed) }
            if form.reveal {
                let token = json["token"] as? [String: Any] ?? [:]
                return page(request, "issued", title: "Token issued",
                            data: ["id": token["id"] ?? "", "principal": token["principal"] ?? "", "secret": json["secret"] ?? "", "back": back.path], session: session)
            }
            return Self.redirect(back.path + "?done=" + id)
        }
    }
}
