import Foundation
import Gateway
import NIOHTTP1
import NodeTestSupport
import Testing

/// A voter whose disk is wiped must not come back as that voter: it has lost its log and
/// its votes. Three real processes; node 3 loses its data directory and is started again,
/// first as it was (`--bootstrap` with the static peers), then with `--join`. Both are
/// refused with the remedy, and the remedy (remove, then join) brings it back.
@Suite(.serialized, .timeLimit(.minutes(3))) struct WipedNodeProcessTests {
    static let secret = "a shared secret for the wiped-node test"
    let client = SignedClusterClient(secret: WipedNodeProcessTests.secret)

    @Test func aWipedVoterIsRefusedUntilItIsRemovedAndRejoins() async throws {
        let layout = try ProcessClusterLayout("wiped", secret: Self.secret)
        defer { layout.removeRoot() }
        let (root, http, environment) = (layout.root, layout.http, layout.environment)
        let arguments = layout.arguments
        let static3 = layout.bootstrapArguments(3)
        var processes = try (1...3).map { try WeirProcess(layout.bootstrapArguments($0), environment: environment) }

        // Every node records the incarnation of its data directory with the cluster.
        var first: [String: String] = [:]
        try await waitUntil("the cluster records all three incarnations", within: .seconds(30)) {
            first = await self.client.status(http[0])?.incarnations ?? [:]
            return first.count == 3
        }
        let garbled = await client.call(
            .POST, port: http[0], path: "/cluster/v1/join", json: #"{"node_id":9,"peer_address":"tcp://127.0.0.1:1","incarnation":"not hex"}"#, timeout: 10)
        #expect(garbled?.status == 400, "an incarnation that is not 32 hex digits")
        // Every member records its build's entry level too; once all have, the cluster is at
        // level 4 and refuses a join from a build below it (it could not apply the log).
        try await waitUntil("the cluster records all three entry levels", within: .seconds(30)) {
            let status = await self.client.status(http[0])
            return status?.entry_levels?.count == 3 && status?.cluster_entry_level == 4
        }
        let older = await client.call(
            .POST, port: http[0], path: "/cluster/v1/join",
            json: #"{"node_id":9,"peer_address":"tcp://127.0.0.1:1","incarnation":"00112233445566778899aabbccddeeff","entry_level":3}"#, timeout: 10)
        #expect(older?.status == 409, "a build below the cluster level: \(String(decoding: older?.body ?? Data(), as: UTF8.self))")
        let olderAnswer = String(decoding: older?.body ?? Data(), as: UTF8.self)
        #expect(olderAnswer.contains("entry level 3"), "\(olderAnswer)")
        processes[2].signal(SIGTERM)
        #expect(try await processes[2].awaitExit() == 0)
        try FileManager.default.removeItem(atPath: "\(root)/3")

        // As it was started before: the peers know node 3 ran from another directory.
        let again = try WeirProcess(static3, environment: environment)
        #expect(try await again.awaitExit() != 0, "a wiped voter must not start as that voter")
        #expect(again.log.contains("clusterctl remove 3") && again.log.contains("--join"), "\(again.log)")
        #expect(await client.status(http[0])?.membership.voters == [1, 2, 3], "nothing changed")

        // Through --join while still a member: refused too (409), no retrying.
        try FileManager.default.removeItem(atPath: "\(root)/3")
        let joining = try WeirProcess(arguments(3) + ["--join", "http://127.0.0.1:\(http[0])"], environment: environment)
        do {
            #expect(try await joining.awaitExit() != 0)
        } catch {
            Issue.record("node 1:\n\(processes[0].log.suffix(6_000))\nnode 2:\n\(processes[1].log.suffix(6_000))")
            throw error
        }
        #expect(joining.log.contains("HTTP 409") && joining.log.contains("clusterctl remove 3"), "\(joining.log)")

        // The remedy: remove node 3, then start it with --join; it is promoted once caught up.
        let removal = await client.call(.POST, port: http[0], path: "/cluster/v1/remove", json: #"{"node_id":3}"#, timeout: 10)
        #expect(removal?.status == 200, "\(String(decoding: removal?.body ?? Data(), as: UTF8.self))")
        try FileManager.default.removeItem(atPath: "\(root)/3")
        processes[2] = try WeirProcess(arguments(3) + ["--join", "http://127.0.0.1:\(http[0])"], environment: environment)
        try await waitUntil("node 3 is a voter again, from its new directory", within: .seconds(40)) {
            let status = await self.client.status(http[0])
            return status?.membership.voters == [1, 2, 3] && status?.incarnations?["3"] != nil && status?.incarnations?["3"] != first["3"]
        }
        try await waitUntil("node 3 follows", within: .seconds(10)) {
            let mine = await self.client.status(http[2])
            return mine?.leader != 0 && mine?.leader != nil
        }
        for process in processes { process.signal(SIGTERM) }
        for process in processes { #expect(try await process.awaitExit() == 0) }
    }
}
