import Foundation

/// The table `weir-bench policy` prints and writes into docs/benchmarks.md.
struct PolicyReport {
    var scale: PolicyScale
    var build: PolicyScale.Build
    var snapshot: SnapshotCost
    var queries: [QueryTimings]
    var cluster: PolicyClusterBench.Result?

    func markdown() -> String {
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        var lines = [
            "Measured \(date). State machine: \(scale.users) users, \(scale.apps) applications, \(scale.apps) principals, "
                + "\(scale.tokens) tokens, \(scale.revisions) quota and pricing revisions, \(PolicyScale.organizations) organizations, "
                + "each an entry encoded as the log carries it, decoded and applied.",
            "",
            "| what | measured |",
            "|---|---|",
            String(format: "| apply rate (one thread, no Raft or disk) | %.0f entries/s (%d entries in %.1f s) |", Double(build.entries) / build.seconds, build.entries, build.seconds),
            "| RSS of the process holding the state (after malloc_trim) | \(build.rssMB) MB (\(build.heapMB) MB) |",
            String(format: "| snapshot, compressed (JSON) | %.1f MB (%.1f MB) |", Double(snapshot.compressedBytes) / 1e6, Double(snapshot.jsonBytes) / 1e6),
            String(format: "| snapshot, take / install | %.2f s / %.2f s |", snapshot.takeSeconds, snapshot.installSeconds),
        ]
        lines += queries.map { String(format: "| %@ | p50 %.3f ms, p99 %.3f ms |", $0.name, $0.p50, $0.p99) }
        if let cluster { lines += ["", Self.clusterMarkdown(cluster)] }
        return lines.joined(separator: "\n")
    }

    /// The cluster part's table.
    static func clusterMarkdown(_ cluster: PolicyClusterBench.Result) -> String {
        var lines = [
            "Cluster: three release nodes behind haproxy, \(cluster.users) users written through haproxy by \(PolicyClusterBench.writers) writers, "
                + "then a fourth node joins with `--join`; queries through the new node, JSON or HTML included.",
            "",
            "| what | measured |",
            "|---|---|",
            String(format: "| writes through haproxy | %.0f writes/s (%d failed%@) |", cluster.writesPerSecond, cluster.failedWrites,
                   cluster.failures.isEmpty ? "" : ": " + cluster.failures.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key == 0 ? "no answer" : String($0.key))" }.joined(separator: ", ")),
            String(format: "| join until `/health/ready` is 200 | %.1f s |", cluster.joinReadySeconds),
            "| RSS per node | " + cluster.rssMB.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) MB" }.joined(separator: ", ") + " |",
        ]
        lines += cluster.queries.map { String(format: "| %@ | p50 %.2f ms, p99 %.2f ms |", $0.name, $0.p50, $0.p99) }
        return lines.joined(separator: "\n")
    }

    /// Replaces the policy section of `output` (between its markers), or appends it.
    static func write(_ table: String, to output: String) {
        let start = "<!-- policy-bench:start -->", end = "<!-- policy-bench:end -->"
        let section = """
            \(start)
            ## Policy at scale (`weir-bench policy`, `make bench`)

            \(table)
            \(end)
            """
        MarkedSection.write(section, start: start, end: end, to: output)
    }
}
