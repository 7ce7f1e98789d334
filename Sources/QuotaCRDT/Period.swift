/// The length of a quota window. Windows are aligned to the UTC calendar: a `day` starts
/// at 00:00 UTC, a `week` on Monday (ISO 8601), a `month` on the 1st.
public enum Period: String, CaseIterable, Sendable, Codable {
    case tenSeconds = "10s"
    case minute
    case hour
    case day
    case week
    case month
    /// One window for all time.
    case infinite

    /// Parses the names the consoles use (`10s`, `minute`, `hour`, `day`, `week`,
    /// `month`, `infinite`).
    public init?(name: String) { self.init(rawValue: name.lowercased()) }
}

/// A half-open span of time `[start, end)` in milliseconds since the Unix epoch, UTC.
/// `end` is nil for the infinite window.
public struct Window: Hashable, Sendable, CustomStringConvertible {
    /// The first millisecond inside the window.
    public let start: Int64
    /// The first millisecond after it; nil when the window never ends.
    public let end: Int64?

    /// When the window's usage resets (its end), or nil for never.
    public var resetsAt: Int64? { end }

    /// True when `instant` (ms) is inside the window.
    public func contains(_ instant: Int64) -> Bool {
        instant >= start && (end.map { instant < $0 } ?? true)
    }

    public var description: String { "[\(start), \(end.map(String.init) ?? "∞"))" }
}

extension Period {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The window of this period that contains `instant` (ms since the epoch, UTC).
    public func window(containing instant: Int64) -> Window {
        switch self {
        case .tenSeconds: return fixed(instant, length: 10_000)
        case .minute: return fixed(instant, length: 60_000)
        case .hour: return fixed(instant, length: 3_600_000)
        case .day: return fixed(instant, length: Self.millisecondsPerDay)
        case .week:
            let day = floorDivide(instant, Self.millisecondsPerDay)
            // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
            let monday = day - floorModulo(day + 3, 7)
            return Window(start: monday * Self.millisecondsPerDay, end: (monday + 7) * Self.millisecondsPerDay)
        case .month:
            let day = floorDivide(instant, Self.millisecondsPerDay)
            let (year, month, _) = CivilDate.fromDays(day)
            let first = CivilDate.days(year: year, month: month, day: 1)
            let next = month == 12 ? CivilDate.days(year: year + 1, month: 1, day: 1) : CivilDate.days(year: year, month: month + 1, day: 1)
            return Window(start: first * Self.millisecondsPerDay, end: next * Self.millisecondsPerDay)
        case .infinite:
            return Window(start: Int64.min, end: nil)
        }
    }

    private func fixed(_ instant: Int64, length: Int64) -> Window {
        let start = floorDivide(instant, length) * length
        return Window(start: start, end: start + length)
    }
}

func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let quotient = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
}

func floorModulo(_ a: Int64, _ b: Int64) -> Int64 { a - floorDivide(a, b) * b }

/// Proleptic Gregorian dates ↔ days since 1970-01-01 (Howard Hinnant's algorithms), exact
/// across month ends and leap years, with no calendar object and no time zone.
enum CivilDate {
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func fromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
