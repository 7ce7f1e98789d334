import ArgumentParser
import Foundation
import Logging
import Node
import QuotaCRDT
import Storage
import Transport

/// The cost of one admission (reserve, then settle): in the pure ledger against 1 and 6
/// applicable quotas, and through the node's `QuotaService` gate (lock, clock, durable
/// marks on RocksDB) against 6, all in the same run.
struct QuotaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Cost of one quota admission (reserve + settle): ledger with 1 and 6 quotas, and the node's gate with 6.")

    @Option(help: "Admissions measured per case.") var admissions = 200_000

    static let lanes: [Lane] = [.token, .key, .principal, .user, .app, .org]
    static let periods: [Period] = [.tenSeconds, .minute, .hour, .day, .week, .month]
    static let estimate = Usage(requests: 1, tokens: 1_000, microUSD: 2_000)

    func run() async throws {
        print("weir-bench quota: \(admissions) admissions per case (reserve then settle)")
        let one = measureLedger(quotaCount: 1)
        let six = measureLedger(quotaCount: 6)
        let gate = try await measureGate(quotaCount: 6)
        let pooled = try await measureGate(quotaCount: 6, pooled: true)
        print("")
        print("| admission | p50 | p99 | mean |")
        print("|---|---|---|---|")
        for (name, result) in [("ledger, 1 quota (baseline)", one), ("ledger, 6 quotas", six), ("QuotaService gate, 6 quotas", gate),
                               ("QuotaService gate, 6 pooled quotas, allocation in hand", pooled)] {
            print("| \(name) | \(nanoseconds(result.p50)) | \(nanoseconds(result.p99)) | \(nanoseconds(result.mean)) |")
        }
        print("")
        print("ratio, ledger 6 / 1: p50 \(ratio(six.p50, one.p50))×, p99 \(ratio(six.p99, one.p99))×")
        print("ratio, gate 6 / ledger 1: p50 \(ratio(gate.p50, one.p50))×, p99 \(ratio(gate.p99, one.p99))×")
        print("ratio, pooled gate 6 / ledger 1: p50 \(ratio(pooled.p50, one.p50))×, p99 \(ratio(pooled.p99, one.p99))×")
    }

    struct Result {
        var p50: Duration
        var p99: Duration
        var mean: Duration
    }

    static func quotas(_ count: Int) -> [QuotaSpec] {
        (0..<count).map { i in
            QuotaSpec(id: QuotaID(lane: lanes[i], subject: "\(lanes[i].rawValue):bench", name: "q\(i)"), period: periods[i],
                      caps: Caps(requests: 1 << 40, tokens: 1 << 50, microUSD: 1 << 50))
        }
    }

    private func measureLedger(quotaCount: Int) -> Result {
        let quotas = Self.quotas(quotaCount)
        var ledger = QuotaLedger(member: 1)
        let now: Int64 = 1_800_000_000_000
        return measure {
            guard case let .success(id) = ledger.reserve(Self.estimate, against: quotas, members: [1, 2, 3], now: now) else {
                fatalError("the benchmark's caps are never reached")
            }
            ledger.settle(id, actual: Self.estimate)
        }
    }

    /// The gate as the gateway calls it, over a real RocksDB (durable marks are written by
    /// the service's own loop, off the measured path). `pooled`: every window starts in the
    /// pool, and the node holds an allocation of the whole cap in this window and the next
    /// (applied as the Raft log would), so no admission asks for more.
    private func measureGate(quotaCount: Int, pooled: Bool = false) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weir-bench-quota-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try Database(path: directory, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let transport = try PeerTransport(configuration: TransportConfiguration(
            nodeID: PeerID(1), clusterID: "bench", clusterSecret: Array("a benchmark cluster secret".utf8),
            listenAddress: "tcp://127.0.0.1:0"))
        let service = try QuotaService(
            nodeID: 1, members: [1], transport: transport, database: database,
            logger: Logger(label: "bench.quota"))
        let loops = Task { await service.run() }
        let quotas = Self.quotas(quotaCount)
        if pooled { Self.allocateEverything(quotas, to: service) }
        // The first admission of each window waits for its first durable mark.
        guard case let .success(first) = await service.reserve(Self.estimate, against: quotas) else {
            fatalError("the first admission should pass once its marks are durable")
        }
        service.settle(first, actual: Self.estimate)
        var waits = 0
        let result = measure {
            switch service.tryReserve(Self.estimate, against: quotas) {
            case let .success(id): service.settle(id, actual: Self.estimate)
            case .failure: waits += 1  // a mark not yet written: the real gate would wait
            }
        }
        if waits > 0 { print("gate: \(waits) admissions met a durable mark not yet written") }
        loops.cancel()
        await loops.value
        await transport.shutdown()
        return result
    }

    /// Pools every window and applies an allocation of each quota's whole cap to node 1,
    /// in the current window and the next.
    static func allocateEverything(_ quotas: [QuotaSpec], to service: QuotaService) {
        var schedule = MembershipSchedule()
        schedule.append(effectiveFrom: .min, voters: [QuotaLedger.poolMember])
        service.setSchedule(schedule)
        service.setAllocator { _ in true }
        let now = QuotaService.wallClockMilliseconds()
        var pool = QuotaPool()
        var keys: [WindowKey] = []
        for spec in quotas {
            let window = spec.period.window(containing: now)
            keys.append(WindowKey(quota: spec.id, period: spec.period, start: window.start))
            if let end = window.end { keys.append(WindowKey(quota: spec.id, period: spec.period, start: end)) }
        }
        let caps = Dictionary(quotas.map { ($0.id, $0.caps) }) { first, _ in first }
        let requests = keys.compactMap { key in caps[key.quota].map { QuotaPool.Request(key: key, receiver: 1, amount: $0.asUsage) } }
        _ = pool.apply(requests, time: now) { caps[$0.quota] }
        service.applyAllocations(keys.compactMap { key in caps[key.quota].flatMap { pool.update(for: key, caps: $0) } })
    }

    private func measure(_ admission: () -> Void) -> Result {
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(admissions)
        for n in 0..<(admissions + 10_000) {
            let start = clock.now
            admission()
            let elapsed = clock.now - start
            if n >= 10_000 { samples.append(elapsed) }  // the first ones warm up
        }
        samples.sort()
        let total = samples.reduce(Duration.zero, +)
        return Result(p50: samples[samples.count / 2], p99: samples[samples.count * 99 / 100], mean: total / samples.count)
    }

    private func nanoseconds(_ duration: Duration) -> String {
        "\(duration.components.attoseconds / 1_000_000_000 + duration.components.seconds * 1_000_000_000) ns"
    }

    private func ratio(_ a: Duration, _ b: Duration) -> String {
        let ratio = Double(a.components.attoseconds) / Double(max(1, b.components.attoseconds))
        let tenths = Int((ratio * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
