import ArgumentParser
import Foundation
import Node
import Policy

/// Policy at the scale of a large company (issue 25). Two parts, in one run:
///
/// - **The state machine at full scale**: every record is an entry encoded as the log
///   carries it, decoded and applied by `PolicyState.apply` (the code every node runs on
///   commit). It reports the apply rate, the snapshot as the node makes it (JSON in one
///   zstd frame: size, time to take, time to install), query p50/p99 on the state, and the
///   RSS of the process holding it.
/// - **A real cluster** (`PolicyClusterBench`): three release nodes behind haproxy, written
///   through the admin API by 16 writers, then a fourth node that joins; see there.
struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Policy at scale: apply rate, snapshot size and time, query latency, RSS; a cluster's writes, join and queries.")

    @Option(help: "Users in the state machine part.") var users = 100_000
    @Option(help: "Applications, and as many principals.") var apps = 20_000
    @Option(help: "Tokens.") var tokens = 200_000
    @Option(help: "Quota and pricing revisions (four in five are quota revisions).") var revisions = 500_000
    @Option(help: "Times each query is run.") var repeats = 200
    @Option(help: "Users written through the three-node cluster (0: skip the cluster part).") var clusterUsers = 100_000
    @Option(help: "The weir binary (release).") var weir = ".build/release/weir"
    @Option(help: "Where to write the table (between its markers), or - for none.") var output = "docs/benchmarks.md"

    @Flag(help: "Only the cluster part.") var clusterOnly = false

    func run() async throws {
        if clusterOnly {
            let cluster = try await PolicyClusterBench(weir: weir, users: clusterUsers, repeats: repeats).run()
            say(PolicyReport.clusterMarkdown(cluster))
            return
        }
        say("weir-bench policy: \(users) users, \(apps) apps and principals, \(tokens) tokens, \(revisions) revisions")
        let scale = PolicyScale(users: users, apps: apps, tokens: tokens, revisions: revisions)
        let (state, build) = try scale.build()
        say(String(format: "applied %d entries in %.1f s (%.0f entries/s); RSS %d MB, %d MB after malloc_trim", build.entries, build.seconds,
                          Double(build.entries) / build.seconds, build.rssMB, build.heapMB))
        let snapshot = try SnapshotCost.measure(state)
        say(String(format: "snapshot: %.1f MB compressed (%.1f MB JSON), taken in %.2f s, installed in %.2f s",
                     Double(snapshot.compressedBytes) / 1e6, Double(snapshot.jsonBytes) / 1e6, snapshot.takeSeconds, snapshot.installSeconds))
        let queries = try QueryTimings.measure(state, scale: scale, repeats: repeats)
        for row in queries { say(String(format: "  %@: p50 %.3f ms, p99 %.3f ms (%d items)", row.name, row.p50, row.p99, row.items)) }
        var cluster: PolicyClusterBench.Result?
        if clusterUsers > 0 {
            cluster = try await PolicyClusterBench(weir: weir, users: clusterUsers, repeats: repeats).run()
        }
        let table = PolicyReport(scale: scale, build: build, snapshot: snapshot, queries: queries, cluster: cluster).markdown()
        say("")
        say(table)
        if output != "-" { PolicyReport.write(table, to: output) }
    }
}

/// How many records of each kind, and how they are named, so queries can aim at rare and
/// common matches.
struct PolicyScale {
    var users: Int
    var apps: Int
    var tokens: Int
    var revisions: Int
    /// 200 surnames: each is in about 0.5 % of the users' display names.
    static let surnames = (0..<200).map { "Surname\(String($0, radix: 36))x" }
    static let organizations = 1_000

    struct Build {
        var entries: Int
        var seconds: Double
        var rssMB: Int
        var heapMB: Int
    }

    /// The state, built through encoded entries applied in log order.
    func build() throws -> (PolicyState, Build) {
        var state = PolicyState()
        var index: UInt64 = 0
        let clock = ContinuousClock()
        let start = clock.now
        func apply(_ command: PolicyCommand) throws {
            index += 1
            let bytes = PolicyCodec.encode(PolicyEntry(actor: "human:bench", command: command))
            guard let entry = PolicyCodec.decodeEntry(bytes) else { throw ValidationError("entry \(index) did not decode") }
            if case let .failure(error) = state.apply(entry, time: 1_800_000_000_000 + Int64(index), index: index) {
                throw ValidationError("entry \(index) was refused: \(error)")
            }
        }
        for n in 0..<Self.organizations { try apply(.putOrganization(organization(n))) }
        for n in 0..<users { try apply(.putUser(user(n))) }
        for n in 0..<apps { try apply(.putApplication(application(n))) }
        for n in 0..<apps { try apply(.putPrincipal(principal(n))) }
        for n in 0..<tokens { try apply(.issueToken(token(n))) }
        for n in 0..<revisions {
            try apply(n % 5 == 4 ? .upsertPricing(price(n)) : .upsertQuota(quota(n)))
        }
        let elapsed = start.duration(to: clock.now)
        return (state, Build(entries: Int(index), seconds: elapsed.seconds, rssMB: ProcessMemory.residentMB(pid: getpid()), heapMB: ProcessMemory.residentAfterTrimMB()))
    }

    func organization(_ n: Int) -> Organization {
        Organization(id: "org:o\(n)", name: "Organisation \(n)", slug: "o\(n)", owner: nil, dlp: nil, created: .pending, updated: .pending)
    }

    func user(_ n: Int) -> User {
        User(id: "user:u\(n)", displayName: "Person \(n) \(Self.surnames[n % Self.surnames.count])", email: "u\(n)@example.com",
             status: n % 50 == 0 ? .suspended : .active, role: n % 100 == 0 ? .admin : .member,
             organization: "org:o\(n % Self.organizations)", created: .pending, updated: .pending)
    }

    func application(_ n: Int) -> Application {
        Application(id: "app:a\(n)", displayName: "Application \(n)", slug: "a\(n)", contact: nil, active: n % 10 != 0, dlp: nil, created: .pending, updated: .pending)
    }

    func principal(_ n: Int) -> Principal {
        Principal(id: "agent:p\(n)", kind: .agent, namespace: "tenant:default", groups: ["g\(n % 40)"], app: "app:a\(n)", purpose: nil, created: .pending, updated: .pending)
    }

    func token(_ n: Int) -> ClientToken {
        let hash = String(repeating: "0", count: 48) + String(format: "%016x", n)
        return ClientToken(id: "tok:t\(n)", secretHash: hash, displayPrefix: "weir_t\(n)", name: nil, principal: "agent:p\(n % apps)",
                           namespace: "tenant:default", user: "user:u\(n % users)", app: "app:a\(n % apps)", scopes: ["model.invoke"],
                           expiresAt: nil, revoked: false, created: .pending, updated: .pending)
    }

    func quota(_ n: Int) -> QuotaRevision {
        QuotaRevision(id: 0, lane: .user, subject: "user:u\(n % users)", name: n % 3 == 0 ? "daily" : "q\(n % 97)", period: .day,
                      maxMicroUSD: nil, maxTokens: 100_000, maxRequests: 1_000, rollover: false, revoked: false, stamp: .pending)
    }

    func price(_ n: Int) -> PricingRevision {
        PricingRevision(id: 0, scope: .model, subject: "model-\(n % 5_000)", inputNanoUSDPer1k: 150_000, outputNanoUSDPer1k: 600_000,
                        cachedInputNanoUSDPer1k: nil, note: nil, revoked: false, stamp: .pending)
    }
}

/// The policy snapshot as a node makes it: the JSON of `PolicyCodec.snapshot` in one zstd
/// frame; installing is decompressing, decoding and rebuilding the indexes.
struct SnapshotCost {
    var jsonBytes: Int
    var compressedBytes: Int
    var takeSeconds: Double
    var installSeconds: Double

    static func measure(_ state: PolicyState) throws -> SnapshotCost {
        let clock = ContinuousClock()
        let start = clock.now
        let json = PolicyCodec.snapshot(state)
        let compressed = Zstd.compress(json)
        let taken = clock.now
        guard let expanded = Zstd.decompress(compressed, size: json.count) else { throw ValidationError("the snapshot did not decompress") }
        let restored = try PolicyCodec.restore(expanded)
        let installed = clock.now
        guard restored.users.count == state.users.count, restored.tokens.count == state.tokens.count else {
            throw ValidationError("the restored snapshot lost records")
        }
        return SnapshotCost(jsonBytes: json.count, compressedBytes: compressed.count,
                            takeSeconds: start.duration(to: taken).seconds, installSeconds: taken.duration(to: installed).seconds)
    }
}

/// Query latency on the state itself (what an admin endpoint does before encoding JSON).
struct QueryTimings {
    var name: String
    var p50: Double  // ms
    var p99: Double
    var items: Int

    static func measure(_ state: PolicyState, scale: PolicyScale, repeats: Int) throws -> [QueryTimings] {
        let page = try PageRequest(limit: 50)
        let deep = try PageRequest(cursor: try state.users(UserFilter(), try PageRequest(limit: 500)).nextCursor, limit: 50)
        let surname = PolicyScale.surnames[7]
        let cases: [(String, () throws -> Int)] = [
            ("users, first page", { try state.users(UserFilter(), page).items.count }),
            ("users, page after 500", { try state.users(UserFilter(), deep).items.count }),
            ("users, q = one user's id", { try state.users(UserFilter(text: "u\(scale.users * 7 / 11)@"), page).items.count }),
            ("users, q = a surname (0.5 %)", { try state.users(UserFilter(text: surname.lowercased()), page).items.count }),
            ("users, q matching nobody", { try state.users(UserFilter(text: "nobody-zq"), page).items.count }),
            ("users, q of 2 letters matching nobody", { try state.users(UserFilter(text: "zq"), page).items.count }),
            ("users, organization", { try state.users(UserFilter(organization: "org:o17"), page).items.count }),
            ("users, role admin and q", { try state.users(UserFilter(text: "person 1", role: .admin), page).items.count }),
            ("tokens, principal", { try state.tokens(TokenFilter(principal: "agent:p5"), now: 0, page).items.count }),
            ("tokens, user", { try state.tokens(TokenFilter(user: "user:u5"), now: 0, page).items.count }),
            ("tokens, revoked (none)", { try state.tokens(TokenFilter(status: .revoked), now: 0, page).items.count }),
            ("quota revisions, newest", { try state.quotaRevisions(QuotaFilter(), page).items.count }),
            ("quota revisions, subject", { try state.quotaRevisions(QuotaFilter(subject: "user:u5"), page).items.count }),
            ("quota revisions, name contains", { try state.quotaRevisions(QuotaFilter(name: "q96"), page).items.count }),
            ("quota revisions, active, lane org (none)", { try state.quotaRevisions(QuotaFilter(lane: .org, status: .active), page).items.count }),
            ("pricing revisions, subject", { try state.pricingRevisions(PricingFilter(subject: "model-5"), page).items.count }),
        ]
        return try cases.map { name, query in
            var times: [Double] = []
            var items = 0
            let clock = ContinuousClock()
            for _ in 0..<repeats {
                let start = clock.now
                items = try query()
                times.append(start.duration(to: clock.now).seconds * 1000)
            }
            times.sort()
            return QueryTimings(name: name, p50: times[times.count / 2], p99: times[min(times.count - 1, times.count * 99 / 100)], items: items)
        }
    }
}

enum ProcessMemory {
    /// RSS in MB after glibc's `malloc_trim(0)` returns the free pages a long build left
    /// behind: about the live heap (found with dlsym, since malloc.h is not in Glibc's
    /// module).
    static func residentAfterTrimMB() -> Int {
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }
        return residentMB(pid: getpid())
    }

    /// VmRSS of `pid` in MB (0 when unreadable).
    static func residentMB(pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Prints a line at once: a long run into a file shows its progress as it comes.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
