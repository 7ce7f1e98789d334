import ArgumentParser
import QuotaCRDT

/// The cost of one admission (reserve, then settle) in the pure ledger, with 6 applicable
/// quotas against a baseline of 1 quota in the same run.
struct QuotaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Cost of one quota admission (reserve + settle) against 1 and 6 applicable quotas.")

    @Option(help: "Admissions measured per case.") var admissions = 200_000

    func run() {
        print("weir-bench quota: \(admissions) admissions per case (reserve then settle, one member's ledger)")
        let one = measure(quotaCount: 1)
        let six = measure(quotaCount: 6)
        print("")
        print("| quotas per admission | p50 | p99 | mean |")
        print("|---|---|---|---|")
        for (name, result) in [("1 (baseline)", one), ("6", six)] {
            print("| \(name) | \(nanoseconds(result.p50)) | \(nanoseconds(result.p99)) | \(nanoseconds(result.mean)) |")
        }
        print("")
        print("ratio, 6 quotas / 1 quota: p50 \(ratio(six.p50, one.p50))×, p99 \(ratio(six.p99, one.p99))×")
    }

    struct Result {
        var p50: Duration
        var p99: Duration
        var mean: Duration
    }

    private func measure(quotaCount: Int) -> Result {
        let lanes: [Lane] = [.token, .key, .principal, .user, .app, .org]
        let periods: [Period] = [.tenSeconds, .minute, .hour, .day, .week, .month]
        let quotas = (0..<quotaCount).map { i in
            QuotaSpec(id: QuotaID(lane: lanes[i], subject: "\(lanes[i].rawValue):bench", name: "q\(i)"), period: periods[i],
                      caps: Caps(requests: 1 << 40, tokens: 1 << 50, microUSD: 1 << 50))
        }
        var ledger = QuotaLedger(member: 1)
        let estimate = Usage(requests: 1, tokens: 1_000, microUSD: 2_000)
        let now: Int64 = 1_800_000_000_000
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(admissions)
        for n in 0..<(admissions + 10_000) {
            let start = clock.now
            guard case let .success(id) = ledger.reserve(estimate, against: quotas, members: [1, 2, 3], now: now) else {
                fatalError("the benchmark's caps are never reached")
            }
            ledger.settle(id, actual: estimate)
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
