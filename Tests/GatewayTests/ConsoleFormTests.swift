import Foundation
import HTTPTypes
import Hummingbird
import Policy
import Testing
@testable import Gateway

/// Console forms are built from their endpoint's schema and turn what was typed into the
/// API call, or into an error in the user's terms; every screen names real endpoints.
@Suite struct ConsoleFormTests {
    static let endpoint = AdminEndpoint(
        method: .post, path: "/admin/api/things/{id}", scope: .adminWrite, tag: "T", summary: "S",
        parameters: [.init(name: "reason", description: "why"), .init(name: "cursor", description: "paging")],
        body: .object([
            .init("name", .string(description: "a name"), required: true), .init("count", .integer()), .init("max_usd", .number()),
            .init("on", .boolean()), .init("tags", .array(.string())), .init("headers", .map(.string())),
            .init("kind", .string(allowed: ["a", "b"])), .init("secret", .string()), .init("rules", .array(.object([]))),
        ]),
        response: .string(), handler: { _ in Response(status: .ok) })
    static let form = ConsoleForm(id: "thing", title: "Thing", api: endpoint.path, button: "Save")

    @Test func theFieldsAreTheEndpointsOwn() {
        let fields = Self.form.fields(of: Self.endpoint)
        #expect(fields.map(\.name) == ["id", "name", "count", "max_usd", "on", "tags", "headers", "kind", "secret", "rules", "reason"])
        #expect(fields.map(\.kind) == [.text, .text, .integer, .number, .flag, .list, .lines, .choice(["a", "b"]), .secret, .json, .text])
        #expect(fields.map(\.label) == ["ID", "Name", "Count", "Max USD", "On", "Tags", "Headers", "Kind", "Secret", "Rules", "Reason"])
        #expect(fields[1].required && fields[1].hint == "a name" && !fields[2].required)
        var chosen = Self.form
        chosen.fields = ["kind", "name"]
        #expect(chosen.fields(of: Self.endpoint).map(\.name) == ["id", "kind", "name"], "the path's id stays")
    }

    @Test func aSubmittedFormBecomesTheAPICall() throws {
        let values = [
            "id": "global/gpt-4o", "name": " Alpha ", "count": "3", "max_usd": "2.5", "on": "false", "tags": "x, y,,z",
            "headers": "a=1\n\nb = two=2\n", "kind": "b", "secret": "", "rules": "[{\"name\":\"R\"}]", "reason": "because",
        ]
        let (uri, body) = try Self.form.request(values, endpoint: Self.endpoint).get()
        #expect(uri == "/admin/api/things/global%2Fgpt-4o?reason=because")
        let json = try #require(try JSONSerialization.jsonObject(with: Data((body ?? "").utf8)) as? [String: Any])
        #expect(json["name"] as? String == "Alpha" && json["count"] as? Int == 3 && json["max_usd"] as? Double == 2.5)
        #expect(json["on"] as? Bool == false && json["tags"] as? [String] == ["x", "y", "z"] && json["kind"] as? String == "b")
        #expect(json["headers"] as? [String: String] == ["a": "1", "b": "two=2"])
        #expect(json["secret"] == nil, "an empty field is left out (a stored secret is kept)")
        #expect((json["rules"] as? [[String: Any]])?.first?["name"] as? String == "R")
    }

    @Test func badInputIsRefusedInTheUsersTerms() {
        func error(_ values: [String: String]) -> String? {
            if case let .failure(error) = Self.form.request(["id": "x", "name": "n"].merging(values) { $1 }, endpoint: Self.endpoint) { return error.message }
            return nil
        }
        #expect(error(["name": "  "]) == "Name is required.")
        #expect(error(["id": ""]) == "ID is required.")
        #expect(error(["count": "2.5"]) == "Count: 2.5 is not a whole number.")
        #expect(error(["max_usd": "lots"]) == "Max USD: lots is not a number.")
        #expect(error(["on": "maybe"]) == "On: choose yes or no.")
        #expect(error(["headers": "a=1\nnovalue"]) == "Headers: the line novalue is not key=value.")
        #expect(error(["rules": "[{"]) == "Rules: this is not valid JSON.")
        #expect(error([:]) == nil)
    }

    @Test func anEditSendsWhatWasEmptiedAndAMapValueMayBeEmpty() throws {
        func body(_ values: [String: String], editing: Bool) throws -> [String: Any] {
            let (_, text) = try Self.form.request(["id": "x", "name": "n"].merging(values) { $1 }, endpoint: Self.endpoint, editing: editing).get()
            return try #require(try JSONSerialization.jsonObject(with: Data((text ?? "").utf8)) as? [String: Any])
        }
        let created = try body(["tags": "", "headers": ""], editing: false)
        #expect(created["tags"] == nil && created["headers"] == nil, "a new record takes the API's defaults")
        let edited = try body(["tags": " ", "headers": ""], editing: true)
        #expect(edited["tags"] as? [String] == [] && edited["headers"] as? [String: String] == [:], "an edit that empties a list keeps it empty")
        #expect(edited["secret"] == nil && edited["count"] == nil, "other empty fields are still left out")
        #expect(try body(["headers": "X-Flag=\nX-Team = a"], editing: false)["headers"] as? [String: String] == ["X-Flag": "", "X-Team": "a"])
    }

    @Test func aTextBodyIsSentAsTyped() throws {
        var endpoint = Self.endpoint
        endpoint.path = "/admin/api/things.yaml"
        endpoint.body = .string(description: "YAML")
        let form = ConsoleForm(id: "import", title: "Import", api: endpoint.path, button: "Import")
        let yaml = "roles:\n  coder:\n    normal: gpt-4o\n"
        let (uri, body) = try form.request(["body": yaml, "reason": ""], endpoint: endpoint).get()
        #expect(uri == "/admin/api/things.yaml" && body == yaml)
    }

    @Test func aFieldsTextRoundTripsThroughItsValue() throws {
        let fields = Self.form.fields(of: Self.endpoint)
        for (name, value) in [("headers", ["a": "1", "b": "2"]), ("tags", ["x", "y"]), ("on", true), ("count", 300)] as [(String, Any)] {
            let field = try #require(fields.first { $0.name == name })
            let text = ConsoleForm.text(value, field)
            let back = try ConsoleForm.value(text, field).get()
            #expect(ConsoleForm.text(back, field) == text, "\(name): \(text)")
        }
        let parsed = try JSONSerialization.jsonObject(with: Data("[1, true]".utf8)) as! [Any]
        #expect(ConsoleFormat.cell("", parsed[0]) == "1" && ConsoleFormat.cell("", parsed[1]) == "yes", "a JSON 1 is not a flag")
    }

    @Test func queriesAndFormsAreReadAsBrowsersSendThem() {
        #expect(ConsoleQuery.decode("q=Quota+E2E&a%26b=c%3Dd&empty=&flag") == ["q": "Quota E2E", "a&b": "c=d", "empty": "", "flag": ""])
        let tricky = ["users.q": "a b&c=d#e+f", "quotas.subject": "key:openai:prod", "x": "ü/ß"]
        #expect(ConsoleQuery.decode(ConsoleQuery.encode(tricky)) == tricky)
        #expect(!ConsoleQuery.encode(tricky).contains("#") && !ConsoleQuery.encode(tricky).contains(" "))
    }

    @Test func numbersAreShownAsPeopleWriteThem() {
        #expect(ConsoleFormat.plain(0.00002) == "0.00002" && ConsoleFormat.plain(3) == "3" && ConsoleFormat.plain(-1.5) == "-1.5")
        #expect(ConsoleFormat.cell("input_per_1k", 0.00002) == "0.00002" && ConsoleFormat.cell("cost_usd", 0.000044) == "$0.000044")
        #expect(ConsoleFormat.cell("cost_usd", 2) == "$2.0000" && ConsoleFormat.cell("share", 0.25) == "25.0%" && ConsoleFormat.cell("micro_usd", 1_500_000) == "$1.5000")
        #expect(ConsoleFormat.cell("created", ["at": 0, "actor": "x"]) == "1970-01-01T00:00:00.000Z")
    }

    @Test func everyScreenNamesRealEndpointsFieldsAndFilters() async throws {
        let harness = try await AdminHarness()
        let console = ConsoleRoutes(admin: harness.routes, sessions: ConsoleSessions(secret: Array("a cluster secret of enough length".utf8)))
        #expect(Set(console.screens.map(\.path)).count == console.screens.count)
        for form in console.screens.flatMap(\.forms) + console.rowForms {
            let endpoint = try #require(console.endpoint(of: form), "form \(form.id): no endpoint \(form.method) \(form.api)")
            var all = form
            all.fields = nil
            let names = Set(all.fields(of: endpoint).map(\.name))
            for name in form.fields ?? [] { #expect(names.contains(name), "form \(form.id): no field \(name)") }
            #expect(console.form(form.id) != nil)
        }
        for screen in console.screens {
            for table in screen.tables {
                let path = String(table.api.split(separator: "?")[0])
                let (endpoint, _) = try #require(AdminRoutes<BasicRequestContext>.route(.get, path, in: harness.routes.endpoints), "table \(table.id): no GET \(path)")
                for filter in table.filters { #expect(endpoint.parameters.contains { $0.name == filter }, "table \(table.id): no filter \(filter)") }
                for action in table.actions { #expect(console.form(action.form) != nil, "table \(table.id): no form \(action.form)") }
                if let edit = table.edit { #expect(screen.forms.contains { $0.id == edit && $0.prefill != nil }, "table \(table.id): no edit form \(edit) here") }
            }
        }
        let navigated = Set(ConsoleRoutes<BasicRequestContext>.navigation.map(\.href))
        for screen in console.screens { #expect(navigated.contains(screen.path), "\(screen.path) is not in the navigation") }
    }
}
