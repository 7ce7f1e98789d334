"""The checkers that need no search: caps per window."""
from __future__ import annotations

from dataclasses import dataclass, field

from workloads import CAPS, Answer


@dataclass
class CapReport:
    admitted: int = 0
    overshoot: int = 0           # the largest excess of any window over its cap (0: none)
    worst: str = ""              # that window, for the failure folder
    admitted_min_pct: float = 100.0  # lowest share of a cap admitted in a saturated whole window (a majority is always up)
    saturated_windows: int = 0
    quiet_min_pct: float = 100.0     # the same over saturated windows that overlap no fault
    quiet_windows: int = 0
    unexercised: list[str] = field(default_factory=list)  # caps that never admitted or never refused


def check_caps(answers: list[Answer], faults: list[tuple[float, float]], half: bool = False,
               skews: dict[int, float] | None = None) -> CapReport:
    """Counts admissions per cap window, by the only times the client knows.

    A window's admissions are those whose whole call (sent … received) lies inside it: the
    node decided somewhere in that interval (by the same machine's clock), so those were
    certainly charged to it. More than the cap of those is an overshoot that no timing can
    explain; every window counts, the partial first and last ones too. Calls that straddle
    a boundary are left out, so this never accuses wrongly, and a long call could hide an
    overshoot only by straddling.

    Availability: a whole window (not the first or last) in which some request was refused
    is saturated, and its admissions (by send time) as a share of the cap are the figure;
    "quiet" ones also overlap no fault (`faults`: their start and end wall times). A cap
    that never admitted or never refused was not tested: `unexercised` names it. `half` (a
    planted bug) checks against half of each cap, to show an overshoot is caught.

    A node whose clock is `skews[node]` seconds ahead decides by its own clock: its
    answers (named by `x-weir-node`) are placed by sent and received shifted by its skew,
    so each admission is counted in the window the node charged it to. An admission whose
    node is unknown while some node is skewed is placed by the widest interval any node's
    clock allows, and counted only if that interval is still inside one window.
    """
    skews = skews or {}
    widest = (min([0.0, *skews.values()]), max([0.0, *skews.values()]))
    report = CapReport()
    for index, cap in enumerate(CAPS):
        limit = cap.max_requests // 2 if half else cap.max_requests
        windows: dict[int, list[int]] = {}  # start → [admitted inside, refused, admitted by send time]
        for answer in answers:
            if answer.token != index:
                continue
            early, late = (skews.get(answer.node, 0.0),) * 2 if answer.node else widest
            first, last = answer.sent + early, answer.received + late
            start = int(first // cap.seconds) * cap.seconds
            tally = windows.setdefault(start, [0, 0, 0])
            if answer.status == 200:
                report.admitted += 1
                tally[0] += last < start + cap.seconds
                tally[2] += 1
            elif answer.status == 429:
                tally[1] += 1
        if not any(t[2] for t in windows.values()) or not any(t[1] for t in windows.values()):
            report.unexercised.append(cap.name)
        for start, (inside, _, _) in windows.items():
            if inside - limit > report.overshoot:
                report.overshoot, report.worst = inside - limit, f"{cap.name} window {start}: {inside} admitted, cap {limit}"
        for start in sorted(windows)[1:-1]:
            _, refused, by_send = windows[start]
            if not refused:
                continue
            share = 100.0 * min(by_send, cap.max_requests) / cap.max_requests
            report.saturated_windows += 1
            report.admitted_min_pct = min(report.admitted_min_pct, share)
            if all(end < start or begin > start + cap.seconds for begin, end in faults):
                report.quiet_windows += 1
                report.quiet_min_pct = min(report.quiet_min_pct, share)
    return report
