import Foundation
import SeededRandom
import Testing
@testable import QuotaCRDT

@Suite struct PeriodTests {
    /// Milliseconds of a UTC date-time.
    private func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
        return Int64(date.timeIntervalSince1970 * 1000)
    }

    @Test func fixedPeriodsAlignToTheirLength() {
        let instant = utc(2026, 11, 21, 13, 47, 35) + 250
        #expect(Period.tenSeconds.window(containing: instant) == Window(start: utc(2026, 11, 21, 13, 47, 30), end: utc(2026, 11, 21, 13, 47, 40)))
        #expect(Period.minute.window(containing: instant) == Window(start: utc(2026, 11, 21, 13, 47), end: utc(2026, 11, 21, 13, 48)))
        #expect(Period.hour.window(containing: instant) == Window(start: utc(2026, 11, 21, 13), end: utc(2026, 11, 21, 14)))
        #expect(Period.day.window(containing: instant) == Window(start: utc(2026, 11, 21), end: utc(2026, 11, 22)))
        // A window is half-open: its end belongs to the next one.
        let end = Period.minute.window(containing: instant).end!
        #expect(Period.minute.window(containing: end).start == end)
    }

    @Test func weeksStartOnMondayUTC() {
        // 2026-11-21 is a Saturday; its ISO week began Monday 2026-11-16.
        #expect(Period.week.window(containing: utc(2026, 11, 21, 23, 59, 59)) == Window(start: utc(2026, 11, 16), end: utc(2026, 11, 23)))
        #expect(Period.week.window(containing: utc(2026, 11, 16)).start == utc(2026, 11, 16))
        #expect(Period.week.window(containing: utc(2026, 11, 15, 23, 59, 59)).start == utc(2026, 11, 9))
        // Across a year end: 2021-01-01 (Friday) is in the week of Monday 2020-12-28.
        #expect(Period.week.window(containing: utc(2021, 1, 1, 12)).start == utc(2020, 12, 28))
    }

    @Test func monthsFollowTheCalendarIncludingLeapYears() {
        #expect(Period.month.window(containing: utc(2024, 2, 29, 12)) == Window(start: utc(2024, 2, 1), end: utc(2024, 3, 1)))
        #expect(Period.month.window(containing: utc(2023, 2, 28, 23, 59, 59)) == Window(start: utc(2023, 2, 1), end: utc(2023, 3, 1)))
        #expect(Period.month.window(containing: utc(2026, 12, 31, 23, 59, 59)) == Window(start: utc(2026, 12, 1), end: utc(2027, 1, 1)))
        #expect(Period.month.window(containing: utc(2000, 2, 29)).end == utc(2000, 3, 1), "2000 is a leap year")
        #expect(Period.month.window(containing: utc(2100, 2, 28)).end == utc(2100, 3, 1), "2100 is not")
        #expect(Period.month.window(containing: utc(1969, 12, 15)).start == utc(1969, 12, 1), "before the epoch too")
    }

    @Test func theInfiniteWindowNeverResets() {
        let window = Period.infinite.window(containing: 123)
        #expect(window.end == nil && window.resetsAt == nil && window.contains(Int64.max) && window.contains(-5))
    }

    /// Every period's window contains the instant, and the next window starts at its end,
    /// for random instants between 1900 and 2300 (seeded; the seed is in the message).
    @Test func windowsTileTimeForRandomInstants() {
        let seed: UInt64 = 0x5EED_2026
        var random = SplitMix64(seed: seed)
        let from = utc(1900, 1, 1), to = utc(2300, 1, 1)
        for _ in 0..<20_000 {
            let instant = Int64.random(in: from..<to, using: &random)
            for period in Period.allCases where period != .infinite {
                let window = period.window(containing: instant)
                guard window.contains(instant), let end = window.end, period.window(containing: end).start == end,
                      period.window(containing: end - 1) == window
                else {
                    Issue.record("seed \(seed): \(period) window \(window) is wrong for \(instant)")
                    return
                }
            }
        }
    }

    @Test func civilDatesRoundTrip() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 37) {
            let (y, m, d) = CivilDate.fromDays(days)
            #expect(CivilDate.days(year: y, month: m, day: d) == days)
        }
    }
}
