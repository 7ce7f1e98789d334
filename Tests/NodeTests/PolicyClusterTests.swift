import Foundation
import NIOHTTP1
import Node
import Storage
import Testing

/// Policy writes through three real nodes started by the `make cluster` launcher: a write
/// through any node (or the balancer) is readable from every node; kill -9 and restart of
/// each node in turn loses nothing acknowledged; and the key-encryption key and the
/// credential secrets never reach RocksDB, the Raft log or the logs.
@Suite(.serialized, .timeLimit(.minutes(5))) struct PolicyClusterTests {
    static let credentialSecret = "sk-cluster-test-9f8e7d6c5b4a39281706"
    static let credentialID = "key:openai:cluster-test"

    @Test func writesAnywhereReadEverywhereSurviveKillNineAndKeepSecretsOutOfStorage() async throws {
        let cluster = try LocalCluster()
        do {
            try await exercise(cluster)
        } catch {
            await cluster.stopAndRemove()
            throw error
        }
        await cluster.stopAndRemove()
    }

    private func exercise(_ cluster: LocalCluster) async throws {
        try await cluster.start()
        let api = AdminHTTPClient(token: try cluster.adminToken)
        // Exactly one node created the super-admin token: a 0600 file its log names.
        let writers = (1...3).filter { FileManager.default.fileExists(atPath: "\(cluster.directory)/n\($0)/admin.token") }
        #expect(writers.count == 1, "one bootstrap token file, found on \(writers)")
        for n in writers {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(cluster.directory)/n\(n)/admin.token")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let log = try String(contentsOfFile: "\(cluster.directory)/n\(n).log", encoding: .utf8)
            #expect(log.contains("file=\(cluster.directory)/n\(n)/admin.token"), "the log names the file")
            #expect(!log.contains(try cluster.adminToken), "the log never shows the secret")
        }
        let nodes = cluster.http

        // A write through each node and through haproxy, then a sealed credential.
        var acknowledged: [String] = []
        for (n, port) in (nodes + [cluster.balancer]).enumerated() {
            let answer = await api.call(.POST, port: port, path: "/admin/api/users", json: #"{"id":"user:via-\#(n)"}"#)
            #expect(answer?.status == 200, "a write through port \(port) is acknowledged: \(String(describing: answer))")
            if answer?.status == 200 { acknowledged.append("user:via-\(n)") }
        }
        let credential = await api.call(
            .POST, port: nodes[1], path: "/admin/api/credentials",
            json: #"{"id":"\#(Self.credentialID)","provider":"openai","secret":"\#(Self.credentialSecret)"}"#)
        #expect(credential?.status == 200 && credential?.body["has_secret"] as? Bool == true, "\(String(describing: credential))")

        // A consistent read sees every acknowledged write at once, on every node; plain
        // local reads catch up.
        for port in nodes {
            let ids = await api.userIDs(port: port, consistent: true)
            #expect(ids.map { Set(acknowledged).isSubset(of: $0) } == true, "port \(port) read \(String(describing: ids)) consistently")
        }
        try await waitUntilTrue("every node lists every acknowledged write", within: .seconds(10)) {
            for port in nodes { guard let ids = await api.userIDs(port: port, consistent: false), Set(acknowledged).isSubset(of: ids) else { return false } }
            return true
        }

        // Kill -9 each node in turn while writes go on through the other two; restart it.
        for victim in 1...3 {
            let others = (1...3).filter { $0 != victim }.map { nodes[$0 - 1] }
            for k in 0..<3 where await api.putUser("user:before-kill-\(victim)-\(k)", through: others) { acknowledged.append("user:before-kill-\(victim)-\(k)") }
            try await cluster.killNine(victim)
            for k in 0..<10 where await api.putUser("user:after-kill-\(victim)-\(k)", through: others) { acknowledged.append("user:after-kill-\(victim)-\(k)") }
            #expect(acknowledged.count == 4 + 13 * victim, "two nodes of three keep acknowledging writes (\(acknowledged.count))")
            try await cluster.start()
            try await waitUntilTrue("restarted n\(victim) lists all \(acknowledged.count) acknowledged writes", within: .seconds(30)) {
                guard let ids = await api.userIDs(port: nodes[victim - 1], consistent: false) else { return false }
                return Set(acknowledged).isSubset(of: ids)
            }
        }
        for port in nodes {
            let ids = await api.userIDs(port: port, consistent: true)
            #expect(ids.map { Set(acknowledged).isSubset(of: $0) } == true, "port \(port) lost an acknowledged write")
            let stored = await api.call(.GET, port: port, path: "/admin/api/credentials/\(Self.credentialID)")
            #expect(stored?.body["has_secret"] as? Bool == true)
        }

        // Stopped, every byte the nodes wrote is searched.
        try await cluster.launcher("stop")
        let kekHex = try String(contentsOfFile: "\(cluster.directory)/kek.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let kekBytes = stride(from: 0, to: kekHex.count, by: 2).compactMap { UInt8(String(Array(kekHex)[$0..<$0 + 2]), radix: 16) }
        #expect(kekBytes.count == 32)
        let forbidden: [(String, Data)] = [
            ("the credential secret", Data(Self.credentialSecret.utf8)), ("the KEK in hex", Data(kekHex.utf8)), ("the KEK's bytes", Data(kekBytes)),
        ]
        for n in 1...3 {
            // The raw bytes of every file: RocksDB's WAL, tables and manifest, the data
            // directory's other files, and the node's log.
            let files = try allFiles(under: "\(cluster.directory)/n\(n)") + ["\(cluster.directory)/n\(n).log"]
            for file in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                for (name, needle) in forbidden { #expect(bytes.range(of: needle) == nil, "\(name) is in \(file)") }
            }
            // Every record, decompressed: each column family, the Raft log included.
            let database = try Database(path: StorageLayout.databasePath(dataDirectory: "\(cluster.directory)/n\(n)"), columnFamilies: StorageLayout.all)
            defer { database.close() }
            var records = 0, holdsCredential = false
            for family in StorageLayout.all {
                try database.forEach(family) { key, value in
                    let record = Data(key + value)
                    for (name, needle) in forbidden { #expect(record.range(of: needle) == nil, "\(name) is in a \(family) record") }
                    if record.range(of: Data(Self.credentialID.utf8)) != nil { holdsCredential = true }
                    records += 1
                    return true
                }
            }
            // The search sees plain records: the credential's id is stored in clear.
            #expect(holdsCredential, "n\(n)'s records hold the credential (\(records) records, \(files.count) files searched)")
        }
    }

    private func allFiles(under root: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { files.append(path) }
        }
        return files
    }
}
