import HTTPTypes
import Policy

extension AdminRoutes {
    var identityEndpoints: [AdminEndpoint] {
        let text = AdminEndpoint.Parameter(name: "q", description: "case-insensitive text match")
        return AdminCRUD(
            collection: "users", tag: "Users", schemaName: "User", table: .users, body: UserBody.schema,
            listParameters: [
                text.described("matches user id, display name and email"),
                .init(name: "organization", description: "exact organization: its members"),
                .init(name: "status", description: "exact status", schema: .oneOf(User.Status.self)),
                .init(name: "role", description: "exact role", schema: .oneOf(User.Role.self)),
            ],
            list: { call, state, page in
                let filter = UserFilter(
                    text: call.query("q"), organization: call.query("organization"),
                    status: try call.query("status", as: User.Status.self), role: try call.query("role", as: User.Role.self))
                return try state.users(filter, page).map { UserView($0, state) }
            },
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
                listParameters: [
                    text.described("matches app id, display name and slug"),
                    .init(name: "active", description: "true: active apps only; false: inactive ones", schema: .boolean()),
                ],
                list: { call, state, page in
                    try state.applications(matching: call.query("q"), active: try call.query("active", as: Bool.self), page).map(ApplicationView.init)
                },
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
