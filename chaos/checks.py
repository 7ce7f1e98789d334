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


def charged_window(first: float, last: float, reset: float | None, seconds: int) -> int | None:
    """The start of the window an admission was charged to, when its times allow only one.

    The node wrote the head at some t in [first, last] (its clock; whole milliseconds, so
    the end it names lies in (first + reset - 1 ms, last + reset]); a reset of 0 means the
    window had already ended then, and its end lies in [first, last].
    """
    if reset is None:
        start = int(first // seconds) * seconds
        return start if last < start + seconds else None
    end = int((last + reset) // seconds) * seconds
    low = first + reset - 0.001 if reset > 0 else first - 0.001
    return end - seconds if low < end and end - seconds <= low else None


def check_caps(answers: list[Answer], faults: list[tuple[float, float]], half: bool = False,
               skews: dict[int, float] | None = None) -> CapReport:
    """Counts admissions per cap window, each in the window the node charged it to.

    An admission names its window: `x-ratelimit-reset-requests` (`reset`) is the time
    from when the node wrote the answer's head, somewhere between sent and received (the
    same machine's clock), to the end of the window it charged. The one window end in
    that interval shifted by `reset` places it exactly, also when the call straddles a
    boundary. An admission without the header is placed only if its whole call lies
    inside one window, and left out otherwise, so this never accuses wrongly. More than
    the cap in a window is an overshoot that no timing can explain; every window counts,
    the partial first and last ones too. A token cap counts the tokens mockllm reported
    for each admission (`usage.total_tokens`), placed by `x-ratelimit-reset-tokens`; a
    node may settle beyond the cap by what answers used over their estimates (it reserves
    the estimate), so that sum is allowed and nothing more.

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
        limit = cap.limit // 2 if half else cap.limit
        # start → [charged inside, refused, charged by send time, allowance]: requests, or
        # for a token cap the tokens the provider reported, with the allowance the sum of
        # what each admission used beyond its estimate (a node charges the estimate, and
        # settles what the provider reports: docs/quotas.md, the ledger's invariant).
        windows: dict[int, list[int]] = {}
        for answer in answers:
            if answer.token != index:
                continue
            early, late = (skews.get(answer.node, 0.0),) * 2 if answer.node else widest
            first, last = answer.sent + early, answer.received + late
            start = int(first // cap.seconds) * cap.seconds
            tally = windows.setdefault(start, [0, 0, 0, 0])
            if answer.status == 200:
                report.admitted += 1
                amount = answer.tokens if cap.max_tokens else 1
                tally[2] += amount
                charged = charged_window(first, last, answer.reset, cap.seconds)
                if charged is not None:
                    window = windows.setdefault(charged, [0, 0, 0, 0])
                    window[0] += amount
                    if cap.max_tokens:
                        window[3] += max(0, answer.tokens - answer.estimate)
            elif answer.status == 429:
                tally[1] += 1
        if not any(t[2] for t in windows.values()) or not any(t[1] for t in windows.values()):
            report.unexercised.append(cap.name)
        for start, (inside, _, _, allowance) in windows.items():
            if inside - limit - allowance > report.overshoot:
                report.overshoot = inside - limit - allowance
                report.worst = f"{cap.name} window {start}: {inside} {cap.unit} admitted, cap {limit}" + (f" (+{allowance} over estimates)" if allowance else "")
        for start in sorted(windows)[1:-1]:
            _, refused, by_send, _ = windows[start]
            if not refused:
                continue
            share = 100.0 * min(by_send, cap.limit) / cap.limit
            report.saturated_windows += 1
            report.admitted_min_pct = min(report.admitted_min_pct, share)
            if all(end < start or begin > start + cap.seconds for begin, end in faults):
                report.quiet_windows += 1
                report.quiet_min_pct = min(report.quiet_min_pct, share)
    return report
