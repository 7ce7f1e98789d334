import HTTPTypes
import Foundation
import Hummingbird
import NIOCore
import Policy
import Yams

extension AdminRoutes {
    /// Per-agent model profiles by cost mode, with YAML export and import in the shape of
    /// the consoles' `model_config.yaml`:
    ///
    /// ```yaml
    /// roles:
    ///   coder: {normal: gpt-4o-mini, heavy: gpt-4o, max: o1}
    /// agents:
    ///   agent:coder-1: {role: coder, heavy: claude-3-5-sonnet}
    /// ```
    var profileEndpoints: [AdminEndpoint] {
        AdminCRUD(
            collection: "profiles", tag: "Agent profiles", schemaName: "Profile", table: .profiles, body: ProfileBody.schema,
            listParameters: [.init(name: "role", description: "agents of this role: role:coder, or coder as in the YAML")],
            list: { call, state, page in
                let role = call.query("role").map { $0.hasPrefix("role:") ? $0 : "role:" + $0 }
                return try state.profiles.page(page) { role == nil || $0.role == role }.map { ProfileView($0, state) }
            },
            find: { state, id in state.profiles[id].map { ProfileView($0, state) } },
            command: { (body: ProfileBody, _) in .putProfile(try body.record()) }
        ).endpoints + [
            AdminEndpoint(
                method: .get, path: "/admin/api/profiles.yaml", scope: .adminRead, tag: "Agent profiles",
                summary: "Every profile as YAML (model_config.yaml)", parameters: [AdminEndpoint.consistentParameter],
                response: .text("YAML"),
                handler: { call in
                    let yaml = try ProfileYAML.export(try await call.state())
                    return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: yaml)))
                }),
            AdminEndpoint(
                method: .post, path: "/admin/api/profiles.yaml", scope: .adminWrite, tag: "Agent profiles",
                summary: "Import profiles from YAML, all or nothing; ?replace=true deletes profiles not in the file",
                parameters: [.init(name: "replace", description: "true: the file becomes the whole set", schema: .string(allowed: ["true", "false"]))],
                body: .text("YAML as exported"), response: .object([.init("imported", .integer(), required: true)]),
                handler: { call in
                    let bytes = try await AdminBodyDecoder.collect(call.request)
                    let profiles = try ProfileYAML.parse(String(decoding: bytes, as: UTF8.self))
                    _ = try await call.submit(.importProfiles(profiles, replace: call.query("replace") == "true"))
                    return try .json(["imported": profiles.count])
                }),
        ]
    }
}

/// The YAML form of the profiles.
enum ProfileYAML {
    static func export(_ state: PolicyState) throws -> String {
        var roles: [String: [String: String]] = [:]
        var agents: [String: [String: String]] = [:]
        for profile in state.profiles.values {
            var entry = Dictionary(uniqueKeysWithValues: profile.models.map { ($0.key.rawValue, $0.value) })
            if let name = profile.name { entry["name"] = name }
            if profile.id.hasPrefix("role:") {
                roles[String(profile.id.dropFirst(5))] = entry
            } else {
                if let role = profile.role { entry["role"] = String(role.dropFirst(5)) }
                agents[profile.id] = entry
            }
        }
        return try Yams.dump(object: ["roles": roles, "agents": agents], sortKeys: true)
    }

    /// YAML nodes one import may visit (aliases count each time they are used): a few
    /// hundred bytes of nested aliases once expanded to a billion.
    static let yamlNodesMax = 100_000
    /// The most of the YAML parser's message quoted back (it quotes the offending line).
    static let yamlErrorBytesMax = 500

    /// The profiles of an import. The YAML is composed into a tree, never constructed
    /// into native values (Yams' constructor traps on a non-scalar key and overflows on
    /// base-60 integers), and walked within `yamlNodesMax`.
    static func parse(_ text: String) throws -> [ModelProfile] {
        let composed: Yams.Node?
        do { composed = try Yams.compose(yaml: text) } catch {
            // The parser quotes the offending line, which may be the whole body.
            let reason = String(decoding: "\(error)".utf8.prefix(Self.yamlErrorBytesMax), as: UTF8.self)
            throw AdminError.invalid("the body is not YAML: \(reason)")
        }
        var budget = yamlNodesMax
        guard let root = composed, let top = try mapping(root, at: "", budget: &budget) else {
            throw AdminError.invalid("the YAML must be a mapping with roles and agents")
        }
        for (key, _) in top where key != "roles" && key != "agents" {
            throw AdminError.invalid("unknown top-level key '\(key.prefix(80))'; expected roles and agents", field: key)
        }
        var profiles: [ModelProfile] = []
        for (section, prefix) in [("roles", "role:"), ("agents", "")] {
            guard let entries = top.first(where: { $0.key == section })?.value else { continue }
            guard let map = try mapping(entries, at: section, budget: &budget) else { throw AdminError.invalid("\(section) must be a mapping", field: section) }
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                profiles.append(try profile(name, value, section: section, prefix: prefix, budget: &budget))
            }
        }
        return profiles
    }

    private static func profile(_ name: String, _ node: Yams.Node, section: String, prefix: String, budget: inout Int) throws -> ModelProfile {
        guard let fields = try mapping(node, at: "\(section).\(name)", budget: &budget) else {
            throw AdminError.invalid("\(section).\(name) must be a mapping", field: "\(section).\(name)")
        }
        var models: [CostMode: String] = [:]
        var role: String?, label: String?
        for (key, raw) in fields {
            guard let value = raw.scalar?.string else {
                throw AdminError.invalid("\(section).\(name).\(key) must be a plain value", field: "\(section).\(name).\(key)")
            }
            if let mode = CostMode(rawValue: key) { models[mode] = value } else if key == "role", section == "agents" {
                role = "role:" + value
            } else if key == "name" { label = value } else {
                throw AdminError.invalid("\(section).\(name): unknown key '\(key.prefix(80))'; use normal, heavy, max, name\(section == "agents" ? ", role" : "")", field: "\(section).\(name).\(key)")
            }
        }
        return ModelProfile(id: prefix + name, role: role, name: label, models: models, created: .pending, updated: .pending)
    }

    /// The entries of a mapping node whose keys are plain values, nil when it is not a
    /// mapping; each entry spends one unit of `budget`.
    private static func mapping(_ node: Yams.Node, at path: String, budget: inout Int) throws -> [(key: String, value: Yams.Node)]? {
        guard let mapping = node.mapping else { return nil }
        var entries: [(key: String, value: Yams.Node)] = []
        for (key, value) in mapping {
            budget -= 1
            guard budget >= 0 else { throw AdminError.invalid("the YAML has more than \(yamlNodesMax) nodes (yamlNodesMax, aliases counted as used)") }
            guard let name = key.scalar?.string else {
                throw AdminError.invalid("\(path.isEmpty ? "the YAML" : path) has a key that is not a plain value", field: path.isEmpty ? nil : path)
            }
            entries.append((name, value))
        }
        return entries
    }
}
