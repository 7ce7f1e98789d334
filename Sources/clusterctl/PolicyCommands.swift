import ArgumentParser
import Foundation
import NIOHTTP1
import Yams

/// The collections of the admin API that `get`, `apply` and `delete` work on.
enum Collection: String, ExpressibleByArgument, CaseIterable {
    case users, orgs, apps, principals, tokens, quotas, pricing, credentials, deployments, aliases, fallbacks, dlp, profiles, history, models

    init?(argument: String) {
        let aliases: [String: Collection] = ["user": .users, "org": .orgs, "organizations": .orgs, "app": .apps, "principal": .principals,
                                             "token": .tokens, "quota": .quotas, "price": .pricing, "prices": .pricing, "credential": .credentials,
                                             "deployment": .deployments, "alias": .aliases, "fallback": .fallbacks, "profile": .profiles, "model": .models]
        guard let value = Collection(rawValue: argument) ?? aliases[argument] else { return nil }
        self = value
    }

    /// The columns of its table.
    var columns: [String] {
        switch self {
        case .users: ["id", "display_name", "email", "status", "role", "organization", "weekly_cap_usd"]
        case .orgs: ["id", "name", "slug", "owner", "members", "spend_cap_usd", "dlp"]
        case .apps: ["id", "display_name", "slug", "contact", "active", "dlp"]
        case .principals: ["id", "kind", "namespace", "groups", "app", "purpose"]
        case .tokens: ["id", "name", "principal", "user", "app", "scopes", "status"]
        case .quotas: ["revision", "lane", "subject", "name", "period", "max_requests", "max_tokens", "max_usd", "status"]
        case .pricing: ["revision", "scope", "subject", "input_per_1k", "output_per_1k", "status"]
        case .credentials: ["id", "provider", "name", "base_url", "secret_set"]
        case .deployments: ["id", "model", "credential", "upstream_model", "priority", "weight"]
        case .aliases: ["id", "requested_model", "routed_to", "organization"]
        case .fallbacks: ["primary_model", "chain", "triggers"]
        case .dlp: ["id", "name", "enabled", "action", "detectors", "used_by"]
        case .profiles: ["id", "role", "normal_model", "heavy_model", "max_model"]
        case .history: ["index", "at", "actor", "action", "target", "reason"]
        case .models: ["model", "kind", "routed_to", "organization"]
        }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a collection (every page), or show one record.",
        discussion: "Collections: \(Collection.allCases.map(\.rawValue).joined(separator: ", ")). Filters are the API's query parameters, e.g. --filter status=active.")
    @OptionGroup var connection: Connection
    @Argument(help: "The collection.") var collection: Collection
    @Argument(help: "A record's id.") var id: String?
    @Option(name: .customLong("filter"), help: "key=value, repeatable.") var filters: [String] = []
    @Option(help: "Records at most (default: all).") var limit: Int?

    /// The most records the admin API gives in one page (its `limit` maximum).
    static let pageLimitMax = 500

    func run() async throws {
        let api = try AdminAPI(connection)
        if let id {
            let answer = try await api.call(.GET, "/admin/api/\(collection.rawValue)/\(escape(id))")
            guard connection.output == .table, let object = answer as? [String: Any] else { return Output.json(answer) }
            return Output.table(["field", "value"], object.keys.sorted().map { [$0, Output.cell(object[$0])] })
        }
        var query = try filters.map { filter -> String in
            guard let equals = filter.firstIndex(of: "=") else { throw ValidationError("--filter \(filter): write key=value") }
            return "\(escape(String(filter[..<equals])))=\(escape(String(filter[filter.index(after: equals)...])))"
        }
        query.append("limit=\(min(limit ?? Self.pageLimitMax, Self.pageLimitMax))")
        var items: [Any] = [], cursor: String?
        repeat {
            let page = try await api.call(.GET, "/admin/api/\(collection.rawValue)?" + (query + (cursor.map { ["cursor=\(escape($0))"] } ?? [])).joined(separator: "&"))
            guard let object = page as? [String: Any] else { return Output.json(page) }
            items += object["items"] as? [Any] ?? []
            cursor = object["next_cursor"] as? String
        } while cursor != nil && items.count < (limit ?? .max)
        if let limit { items = Array(items.prefix(limit)) }
        guard connection.output == .table else { return Output.json(items) }
        let columns = collection.columns
        Output.table(columns, items.compactMap { $0 as? [String: Any] }.map { item in columns.map { Output.cell(item[$0]) } })
    }
}

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or replace a record (users, orgs, apps, principals, credentials, deployments, aliases, fallbacks, dlp), or append a quota or price revision, or issue a token.",
        discussion: "The body is the API's JSON, from --json or a JSON or YAML file (-f). A token's secret is shown once.")
    @OptionGroup var connection: Connection
    @Argument(help: "The collection.") var collection: Collection
    @Option(help: "The body as JSON.") var json: String?
    @Option(name: .shortAndLong, help: "A JSON or YAML file with the body.") var file: String?
    @Option(help: "Why (kept in the audit history).") var reason: String?

    func run() async throws {
        let body = try Self.body(json: json, file: file)
        var answer = try await AdminAPI(connection).call(.POST, "/admin/api/\(collection.rawValue)", body: body, reason: reason)
        if connection.output == .table, let object = answer as? [String: Any], let secret = object["secret"] as? String {
            print("secret (shown once, keep it now): \(secret)")
            answer = object["token"] ?? object
        }
        guard connection.output == .table, let object = answer as? [String: Any] else { return Output.json(answer) }
        Output.table(["field", "value"], object.keys.sorted().map { [$0, Output.cell(object[$0])] })
    }

    static func body(json: String?, file: String?) throws -> Any {
        switch (json, file) {
        case let (json?, nil):
            guard let value = try? JSONSerialization.jsonObject(with: Data(json.utf8)) else { throw ValidationError("--json is not valid JSON") }
            return value
        case let (nil, path?):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
            if let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) { return value }
            guard let value = try? Yams.load(yaml: text), value is [String: Any] else { throw ValidationError("\(path) is neither a JSON nor a YAML object") }
            return value
        default:
            throw ValidationError("give the body with --json or -f (one of them)")
        }
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a record nothing refers to.")
    @OptionGroup var connection: Connection
    @Argument(help: "The collection.") var collection: Collection
    @Argument(help: "The record's id.") var id: String

    func run() async throws {
        let answer = try await AdminAPI(connection).call(.DELETE, "/admin/api/\(collection.rawValue)/\(escape(id))")
        connection.output == .json ? Output.json(answer) : print("deleted \(collection.rawValue)/\(id)")
    }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a token (by id), or a quota or price (appends a revoking revision; the body names it, as the API's revoke takes).")
    @OptionGroup var connection: Connection
    @Argument(help: "tokens, quotas or pricing.") var collection: Collection
    @Argument(help: "The token's id.") var id: String?
    @Option(help: "The body as JSON (quotas, pricing).") var json: String?
    @Option(name: .shortAndLong, help: "A JSON or YAML file with the body.") var file: String?

    func run() async throws {
        let api = try AdminAPI(connection)
        let answer: Any
        switch collection {
        case .tokens:
            guard let id else { throw ValidationError("name the token: clusterctl revoke tokens tok_…") }
            answer = try await api.call(.POST, "/admin/api/tokens/\(escape(id))/revoke", body: [String: Any]())
        case .quotas, .pricing:
            answer = try await api.call(.POST, "/admin/api/\(collection.rawValue)/revoke", body: try Apply.body(json: json, file: file))
        default:
            throw ValidationError("only tokens, quotas and pricing are revoked; delete removes the other records")
        }
        Output.json(answer)
    }
}

func escape(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
}
