import HTTPTypes
import Policy

extension AdminRoutes {
    var identityEndpoints: [AdminEndpoint] {
        let text = AdminEndpoint.Parameter(name: "q", description: "case-insensitive text match")
        return AdminCRUD(
            collection: "users", tag: "Users", schemaName: "User", table: .users, body: UserBody.schema,
            listParameters: [text.described("matches user id, display name and email")],
            list: { call, state, page in try state.users(matching: call.query("q"), page).map { UserView($0, state) } },
            find: { state, id in state.users[id].map { UserView($0, state) } },
            command: { (body: UserBody, _) in .putUser(try body.record()) }
        ).endpoints
            + AdminCRUD(
                collection: "orgs", tag: "Organizations", schemaName: "Organization", table: .orgs, body: OrganizationBody.schema,
                listParameters: [text.described("matches org id, name and slug")],
                list: { call, state, page in try state.organizations(matching: call.query("q"), page).map { OrganizationView($0, state) } },
                find: { state, id in state.organizations[id].map { OrganizationView($0, state) } },
                command: { (body: OrganizationBody, _) in .putOrganization(body.record()) }
            ).endpoints
            + AdminCRUD(
                collection: "apps", tag: "Applications", schemaName: "Application", table: .apps, body: ApplicationBody.schema,
                listParameters: [text.described("matches app id, display name and slug")],
                list: { call, state, page in try state.applications(matching: call.query("q"), page).map(ApplicationView.init) },
                find: { state, id in state.applications[id].map(ApplicationView.init) },
                command: { (body: ApplicationBody, _) in .putApplication(body.record()) }
            ).endpoints
            + AdminCRUD(
                collection: "principals", tag: "Principals", schemaName: "Principal", table: .principals, body: PrincipalBody.schema,
                listParameters: [text.described("matches principal id, kind, namespace, groups and app binding")],
                list: { call, state, page in try state.principals(matching: call.query("q"), page).map(PrincipalView.init) },
                find: { state, id in state.principals[id].map(PrincipalView.init) },
                command: { (body: PrincipalBody, _) in .putPrincipal(try body.record()) }
            ).endpoints
    }
}

extension AdminEndpoint.Parameter {
    func described(_ text: String) -> AdminEndpoint.Parameter {
        var copy = self
        copy.description = text
        return copy
    }
}

extension Page {
    func map<T>(_ transform: (Item) throws -> T) rethrows -> PageView<T> {
        PageView(items: try items.map(transform), next_cursor: nextCursor)
    }
}
