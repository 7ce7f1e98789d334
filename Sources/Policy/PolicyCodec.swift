import Foundation

extension CostMode: CodingKeyRepresentable {}

/// The policy's byte formats: entries in the Raft log and whole-state snapshots. Both are
/// JSON with sorted keys (readable in a debugger, stable across runs), preceded by a
/// format version byte so that a later version can change them.
public enum PolicyCodec {
    /// The version byte of both formats.
    public static let version: UInt8 = 1

    /// The bytes of `entry`.
    public static func encode(_ entry: PolicyEntry) -> [UInt8] {
        [version] + encodeJSON(entry)
    }

    /// The entry in `bytes`, or nil when they are not one this version reads.
    public static func decodeEntry(_ bytes: some Collection<UInt8>) -> PolicyEntry? {
        guard bytes.first == version else { return nil }
        return try? JSONDecoder().decode(PolicyEntry.self, from: Data(bytes.dropFirst()))
    }

    /// The whole state as bytes.
    public static func snapshot(_ state: PolicyState) -> [UInt8] {
        [version] + encodeJSON(PolicySnapshot(state))
    }

    /// The state `snapshot(_:)` produced; throws when the bytes are not one.
    public static func restore(_ bytes: [UInt8]) throws -> PolicyState {
        guard bytes.first == version else { throw UnreadableSnapshot() }
        let snapshot = try JSONDecoder().decode(PolicySnapshot.self, from: Data(bytes.dropFirst()))
        // The next entry's history record takes this id and counts on: Int.max would overflow.
        guard (1..<Int.max).contains(snapshot.historyNextID) else { throw UnreadableSnapshot() }
        return snapshot.state()
    }

    /// The snapshot is of an unknown version or damaged.
    public struct UnreadableSnapshot: Error, CustomStringConvertible {
        public var description: String { "the policy snapshot is of an unknown version or damaged" }
    }

    private static func encodeJSON(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(value))
        } catch {
            preconditionFailure("policy values always encode: \(error)")
        }
    }
}

/// Every table as a list in id order, the revisions, the history and the counters.
struct PolicySnapshot: Codable {
    var users: [User]
    var organizations: [Organization]
    var applications: [Application]
    var principals: [Principal]
    var tokens: [ClientToken]
    var credentials: [Credential]
    var deployments: [Deployment]
    var aliases: [Alias]
    var fallbacks: [FallbackChain]
    var profiles: [ModelProfile]
    var dlpPolicies: [DLPPolicy]
    var settings: GatewaySettings
    var quotaRevisions: [QuotaRevision]
    var pricingRevisions: [PricingRevision]
    var history: [HistoryRecord]
    var historyNextID: Int
    var bootstrapped: Bool
    var lastAppliedAt: Int64

    init(_ state: PolicyState) {
        func sorted<R: PolicyRecord>(_ table: RecordTable<R>) -> [R] { table.values.sorted { $0.id < $1.id } }
        users = sorted(state.users)
        organizations = sorted(state.organizations)
        applications = sorted(state.applications)
        principals = sorted(state.principals)
        tokens = sorted(state.tokens)
        credentials = sorted(state.credentials)
        deployments = sorted(state.deployments)
        aliases = sorted(state.aliases)
        fallbacks = sorted(state.fallbacks)
        profiles = sorted(state.profiles)
        dlpPolicies = sorted(state.dlpPolicies)
        settings = state.settings
        quotaRevisions = state.quotaRevisions
        pricingRevisions = state.pricingRevisions
        history = state.history
        historyNextID = state.historyNextID
        bootstrapped = state.bootstrapped
        lastAppliedAt = state.lastAppliedAt
    }

    /// The state, with its indexes rebuilt.
    func state() -> PolicyState {
        var state = PolicyState()
        func fill<R: PolicyRecord>(_ table: inout RecordTable<R>, _ records: [R]) { table.restore(records) }
        fill(&state.users, users)
        fill(&state.organizations, organizations)
        fill(&state.applications, applications)
        fill(&state.principals, principals)
        fill(&state.tokens, tokens)
        fill(&state.credentials, credentials)
        fill(&state.deployments, deployments)
        fill(&state.aliases, aliases)
        fill(&state.fallbacks, fallbacks)
        fill(&state.profiles, profiles)
        fill(&state.dlpPolicies, dlpPolicies)
        state.settings = settings
        for token in tokens { state.tokenIDByHash[token.secretHash] = token.id }
        for revision in quotaRevisions { state.append(revision) }
        for revision in pricingRevisions { state.append(revision) }
        state.history = history
        state.historyNextID = historyNextID
        state.bootstrapped = bootstrapped
        state.lastAppliedAt = lastAppliedAt
        return state
    }
}
