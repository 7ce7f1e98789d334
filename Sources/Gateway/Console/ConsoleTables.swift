import Foundation
import Hummingbird
import Policy

/// Table pages over list endpoints: History, Gateway logs, Cluster.
extension ConsoleRoutes {
    /// One table page: what it lists and how.
    struct TablePage {
        var title: String
        var path: String
        var api: String
        var tableID: String
        var filters: [(name: String, label: String)] = []
        var columns: [String]
        var empty: String
        var intro: String?
        /// A row's cells from one item of the answer.
        var cells: ([String: Any]) -> [String]
        /// Where the items are in the answer (default `items`).
        var items: ([String: Any]) -> [[String: Any]] = { $0["items"] as? [[String: Any]] ?? [] }
        /// A button per row, for writers: (post path, field, value from the item, label).
        var action: ((Session, [String: Any]) -> (path: String, field: String, value: String, label: String)?)?
    }

    func table(_ request: Request, _ session: Session, _ table: TablePage, error: String? = nil) async -> Response {
        var query: [String: String] = [:]
        for (name, _) in table.filters { if let value = request.uri.queryParameters.get(name), !value.isEmpty { query[name] = String(value) } }
        var api = query
        if let cursor = request.uri.queryParameters.get("cursor") { api["cursor"] = String(cursor) }
        let encoded = Self.encode(api)
        let (object, failure) = await call(.get, table.api + (encoded.isEmpty ? "" : (table.api.contains("?") ? "&" : "?") + encoded), session)
        let csrf = sessions.csrf(for: session.cookie)
        let rows = table.items(object).map { item -> [String: Any] in
            var row: [String: Any] = ["cells": table.cells(item)]
            if let action = table.action?(session, item) {
                row["action"] = ["path": action.path, "field": action.field, "value": action.value, "label": action.label, "csrf": csrf]
            }
            return row
        }
        var data: [String: Any] = [
            "path": table.path, "tableID": table.tableID, "columns": table.columns, "rows": rows, "empty": table.empty,
            "span": table.columns.count + 1, "hasFilters": !table.filters.isEmpty,
            "filters": table.filters.map { ["name": $0.name, "label": $0.label, "value": query[$0.name] ?? ""] },
            "rowAction": table.action != nil && session.canWrite,
        ]
        if let intro = table.intro { data["intro"] = intro }
        if let next = object["next_cursor"] as? String { data["next"] = table.path + "?" + Self.encode(query.merging(["cursor": next]) { $1 }) }
        return page(request, "table", title: table.title, data: data, session: session, error: error ?? failure)
    }

    static func encode(_ query: [String: String]) -> String {
        query.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:")))!)" }
            .joined(separator: "&")
    }

    static func time(_ value: Any?) -> String {
        guard let ms = (value as? Int).map(Int64.init) ?? (value as? Int64) else { return "-" }
        return UsagePeriod.timestamp(ms)
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: "-"
        case let text as String: text
        case let list as [Any]: list.map { text($0) }.joined(separator: ", ")
        default: "\(value!)"
        }
    }

    /// The table page served at `path`.
    func tablePage(_ path: String) -> TablePage {
        switch path {
        case "/admin/history": history
        case "/admin/logs": logs
        default: cluster
        }
    }

    var history: TablePage {
        TablePage(
            title: "History", path: "/admin/history", api: "/admin/api/history", tableID: "history",
            filters: [("action", "Action"), ("actor", "Actor"), ("subject", "Subject")],
            columns: ["When", "Action", "Subject", "Summary", "Actor", "Reason", "Index"], empty: "No changes match.",
            cells: { [Self.time($0["at"]), Self.text($0["action"]), Self.text($0["subject"]), Self.text($0["summary"]), Self.text($0["actor"]),
                      Self.text($0["reason"]), Self.text($0["index"])] })
    }

    var logs: TablePage {
        TablePage(
            title: "Gateway Logs", path: "/admin/logs", api: "/admin/api/usage/logs?period=7d", tableID: "logs",
            filters: [("user", "User"), ("token", "Key"), ("model", "Model")],
            columns: ["Time", "Key", "User", "Endpoint", "Requested", "Actual", "Tokens", "Cost", "Status"], empty: "No requests in the last 7 days.",
            intro: "Recent API requests through the OpenAI/Anthropic gateway endpoints, from every node.",
            cells: { item in
                let tokens = ((item["input_tokens"] as? Int) ?? 0) + ((item["output_tokens"] as? Int) ?? 0)
                return [Self.time(item["time"]), Self.text(item["token"]), Self.text(item["user"]), Self.text(item["endpoint"]), Self.text(item["requested_model"]),
                        Self.text(item["model"]), String(tokens), String(format: "$%.6f", item["cost_usd"] as? Double ?? 0), Self.text(item["status"])]
            })
    }

    var cluster: TablePage {
        TablePage(
            title: "Cluster", path: "/admin/cluster", api: "/admin/api/cluster", tableID: "cluster",
            columns: ["Node", "Member", "Role", "Term", "Commit", "Applied", "Lag", "Health", "Peer"], empty: "No members.",
            intro: "Drain takes a node out: not ready, in-flight requests finish, quota rights and leadership are handed on, then it leaves the voting set.",
            cells: { member in
                let report = member["report"] as? [String: Any]
                let health = member["reachable"] as? Bool != true ? "unreachable"
                    : (report?["ready"] as? Bool == true ? "ready" : "waiting: " + Self.text(report?["waiting_for"]))
                return ["n" + Self.text(member["node_id"]), Self.text(member["membership"]), Self.text(report?["role"]), Self.text(report?["term"]),
                        Self.text(report?["commit"]), Self.text(report?["applied"]), Self.text(member["lag"]), health, Self.text(member["peer_address"])]
            },
            items: { $0["members"] as? [[String: Any]] ?? [] },
            action: { session, member in
                guard Scope.adminSuper.isGranted(by: session.identity.scopes) else { return nil }
                return ("/admin/cluster/drain", "node", Self.text(member["node_id"]), "Drain")
            })
    }

    func drain(_ request: Request, _ session: Session, _ form: [String: String]) async -> Response {
        let (_, failure) = await call(.post, "/admin/api/cluster/drain", session, body: ["node": form["node"] ?? ""])
        if let failure { return await table(request, session, cluster, error: failure) }
        return Self.redirect("/admin/cluster")
    }
}
