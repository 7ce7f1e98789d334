import Foundation

/// The time range of an analytics view: `from` and `to` (ms since the epoch) when given,
/// else the last `period` (`1h`, `24h`, `7d`, `30d`, `90d`; default `24h`) up to now.
struct UsagePeriod: Sendable, Equatable {
    var from: Int64
    var to: Int64

    static let periods: [String: Int64] = ["1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, "90d": 90 * 86_400_000]
    static let periodDefault = "24h"
    /// The longest range a view reads (the rollups' default retention).
    static let spanMax: Int64 = 400 * 86_400_000

    static func parse(from: Int64?, to: Int64?, period: String?, now: Int64) throws -> UsagePeriod {
        for (value, field) in [(from, "from"), (to, "to")] {
            if let value, !(0...EventPosition.timeMax).contains(value) {
                throw AdminError.invalid("\(field): \(value) is out of range; give ms since the epoch from 0 to \(EventPosition.timeMax) (timeMax, the end of year 9999)", field: field)
            }
        }
        let end = to ?? now
        let start: Int64
        if let from {
            start = from
        } else {
            let name = period ?? periodDefault
            guard let span = periods[name] else {
                throw AdminError.invalid("period: '\(name.prefix(20))' is not one of \(periods.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", ")); or give from and to in ms", field: "period")
            }
            start = end - span
        }
        guard start >= 0, start < end else { throw AdminError.invalid("from must be before to, both ms since the epoch", field: "from") }
        guard end - start <= spanMax else { throw AdminError.invalid("the range may span at most 400 days", field: "from") }
        return UsagePeriod(from: start, to: end)
    }

    /// `YYYY-MM-DD` of a UTC day.
    static func date(_ time: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: Double(time) / 1000))
    }

    /// ISO 8601 with milliseconds, UTC.
    static func timestamp(_ time: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(time) / 1000))
    }
}

/// Which nodes an answer holds: `complete` is false when a member did not answer in time.
struct NodesView: Encodable, Sendable {
    var answered: [UInt64]
    var missing: [UInt64]
    var complete: Bool

    init(_ answer: ClusterAnswer<some Sendable>) {
        answered = answer.answered
        missing = answer.missing
        complete = answer.missing.isEmpty
    }

    init(_ answers: [NodesView]) {
        answered = Array(Set(answers.flatMap(\.answered)).subtracting(answers.flatMap(\.missing))).sorted()
        missing = Array(Set(answers.flatMap(\.missing))).sorted()
        complete = missing.isEmpty
    }

    static let schema = Schema.object([
        .init("answered", .array(.integer(), description: "node ids whose usage is in the answer"), required: true),
        .init("missing", .array(.integer(), description: "node ids that did not answer in time: their usage is not in it"), required: true),
        .init("complete", .boolean(description: "every member answered"), required: true),
    ])
}

/// Micro-USD as dollars.
func usd(_ micro: Int64) -> Double { Double(micro) / 1_000_000 }
