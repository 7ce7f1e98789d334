import Policy
import HTTPTypes
/// `/docs`: the admin API as one self-contained HTML page (no scripts, fonts or styles
/// from elsewhere), rendered on the server from the endpoint list.
enum DocsPage {
    static func render(_ endpoints: [AdminEndpoint]) -> String {
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weir admin API</title>
            <style>body{font:14px/1.5 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
            h2{border-bottom:1px solid #ccc;margin-top:2em}code{background:#f4f4f4;padding:0 .3em}
            .op{margin:1em 0;padding:.6em 1em;border-left:4px solid #888;background:#fafafa}
            .get{border-color:#2a7}.post{border-color:#27a}.delete{border-color:#a33}
            .m{font-weight:bold;text-transform:uppercase;margin-right:.6em}table{border-collapse:collapse;margin:.4em 0}
            td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top}</style></head><body>
            <h1>Weir admin API</h1>
            <p>Send an admin token as <code>Authorization: Bearer …</code>. Writes go through the Raft log from any node;
            reads are local unless <code>consistent=true</code>. Lists take <code>cursor</code> and <code>limit</code>.
            Errors are <code>{"error": {"type", "message", "field"}}</code>. The machine-readable form is
            <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
            """
        var tags: [String] = []
        for endpoint in endpoints where !tags.contains(endpoint.tag) { tags.append(endpoint.tag) }
        for tag in tags {
            html += "<h2>\(escape(tag))</h2>"
            for endpoint in endpoints where endpoint.tag == tag {
                let method = endpoint.method.rawValue.lowercased()
                html += "<div class=\"op \(method)\"><span class=\"m\">\(method)</span><code>\(escape(endpoint.path))</code>"
                html += " — \(escape(endpoint.summary)) <small>(scope \(endpoint.scope.rawValue))</small>"
                if !endpoint.parameters.isEmpty {
                    html += "<table><tr><th>query</th><th>meaning</th></tr>"
                    for p in endpoint.parameters { html += "<tr><td><code>\(escape(p.name))</code></td><td>\(escape(p.description))</td></tr>" }
                    html += "</table>"
                }
                if let body = endpoint.body, case let .object(properties) = body.base {
                    html += "<table><tr><th>body field</th><th>type</th><th>meaning</th></tr>"
                    for p in properties {
                        html += "<tr><td><code>\(escape(p.name))</code>\(p.required ? " *" : "")</td><td>\(escape(typeName(p.schema)))</td><td>\(escape(describe(p.schema)))</td></tr>"
                    }
                    html += "</table>"
                }
                html += "</div>"
            }
        }
        return html + "<p><small>* required</small></p></body></html>"
    }

    private static func typeName(_ schema: Schema) -> String {
        switch schema {
        case let .string(_, allowed): allowed.map { $0.joined(separator: " | ") } ?? "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case let .array(items, _): "array of \(typeName(items))"
        case .object: "object"
        case let .map(values, _): "object of \(typeName(values))"
        case let .reference(name): name
        case let .constrained(inner, _): typeName(inner)
        }
    }

    private static func describe(_ schema: Schema) -> String {
        switch schema {
        case let .string(d, _), let .integer(d), let .number(d), let .boolean(d), let .array(_, d), let .map(_, d): d ?? ""
        case .object, .reference: ""
        case let .constrained(inner, _): describe(inner)
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
