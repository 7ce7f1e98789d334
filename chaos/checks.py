"""The checkers that need no search: caps per window, convergence after the last fault."""
from __future__ import annotations

from dataclasses import dataclass

from workloads import CAPS, Answer


@dataclass
class CapReport:
    admitted: int = 0
    overshoot: int = 0           # the largest excess of any window over its cap (0: none)
    worst: str = ""              # that window, for the failure folder
    admitted_min_pct: float = 100.0  # lowest share of a cap admitted in a saturated window (a majority is always up)
    saturated_windows: int = 0
    quiet_min_pct: float = 100.0     # the same over saturated windows that overlap no fault
    quiet_windows: int = 0


def check_caps(answers: list[Answer], faults: list[tuple[float, float]], half: bool = False) -> CapReport:
    """Counts admissions per cap window, by the only times the client knows.

    A window's admissions are those whose whole call (sent … received) lies inside it: the
    node decided somewhere in that interval, so those were certainly charged to it. More
    than the cap of those is an overshoot that no timing can explain. Calls that straddle
    a boundary are left out, so this never accuses wrongly, and a long call could hide an
    overshoot only by straddling. `faults` are the (start, end) wall times of faults: a
    window in which some request was refused is saturated, and its admitted share of the cap is
    the availability figure; "quiet" ones also overlap no fault. `half`
    (a planted bug) checks against half of each cap, to show an overshoot is caught.
    """
    report = CapReport()
    for index, cap in enumerate(CAPS):
        windows: dict[int, list[int]] = {}
        for answer in answers:
            if answer.token != index:
                continue
            start = int(answer.sent // cap.seconds) * cap.seconds
            tally = windows.setdefault(start, [0, 0, 0])
            inside = answer.received < start + cap.seconds
            if answer.status == 200:
                report.admitted += 1
                tally[0] += inside
                tally[2] += 1
            elif answer.status == 429:
                tally[1] += 1
        starts = sorted(windows)
        for start in starts[1:-1]:  # the first and last windows are partial
            admitted, refused, sent_in = windows[start]
            excess = admitted - (cap.max_requests // 2 if half else cap.max_requests)
            if excess > report.overshoot:
                report.overshoot, report.worst = excess, f"{cap.name} window {start}: {admitted} admitted"
            if not refused:
                continue
            share = 100.0 * sent_in / cap.max_requests
            report.saturated_windows += 1
            report.admitted_min_pct = min(report.admitted_min_pct, share)
            if all(end < start or begin > start + cap.seconds for begin, end in faults):
                report.quiet_windows += 1
                report.quiet_min_pct = min(report.quiet_min_pct, share)
    return report
