"""The cap checker: it must catch an overshoot anywhere, and never accuse timing."""
from checks import check_caps
from workloads import CAPS, Answer

TEN, MINUTE, TOKENS = 0, 1, 2


def admitted(token: int, start: float, count: int, spacing: float = 0.01, took: float = 0.005) -> list[Answer]:
    return [Answer(token, start + i * spacing, start + i * spacing + took, 200) for i in range(count)]


def refused(token: int, start: float, count: int) -> list[Answer]:
    return [Answer(token, start + i * 0.01, start + i * 0.01 + 0.005, 429) for i in range(count)]


def both_caps_exercised() -> list[Answer]:
    """The other caps admitting and refusing, far from the windows a test looks at."""
    return admitted(MINUTE, 6000, 10) + refused(MINUTE, 6001, 1) + spent(9000, 5, tokens=10) + refused(TOKENS, 9001, 1)


def spent(start: float, count: int, tokens: int, estimate: int = 17) -> list[Answer]:
    """`count` admissions on the token cap, each reporting `tokens` against `estimate`."""
    return [Answer(TOKENS, start + i * 0.01, start + i * 0.01 + 0.005, 200, tokens=tokens, estimate=estimate) for i in range(count)]


def test_an_overshoot_in_a_partial_first_window_is_caught():
    answers = admitted(TEN, 1000, CAPS[TEN].max_requests + 1) + refused(TEN, 1001, 5) + both_caps_exercised()
    report = check_caps(answers, [])
    assert report.overshoot == 1 and "chaos-10s" in report.worst


def test_exactly_the_cap_is_no_overshoot():
    answers = admitted(TEN, 1000, CAPS[TEN].max_requests) + refused(TEN, 1001, 5) + both_caps_exercised()
    assert check_caps(answers, []).overshoot == 0


def test_calls_straddling_a_boundary_are_not_counted_against_either_window():
    cap = CAPS[TEN].max_requests
    # The cap admitted at the very end of one window, answered in the next, and the cap again.
    answers = admitted(TEN, 1009.99, 5, spacing=0.0, took=0.02) + admitted(TEN, 1010.5, cap) + admitted(TEN, 1000, cap - 5)
    answers += refused(TEN, 1011, 3) + both_caps_exercised()
    assert check_caps(answers, []).overshoot == 0


def test_the_minute_cap_is_checked_too():
    answers = admitted(MINUTE, 6000, CAPS[MINUTE].max_requests + 2, spacing=0.1) + refused(MINUTE, 6030, 3)
    answers += admitted(TEN, 1000, 1) + refused(TEN, 1001, 1)
    report = check_caps(answers, [])
    assert report.overshoot == 2 and "chaos-minute" in report.worst


def test_a_cap_that_never_refused_is_unexercised():
    report = check_caps(admitted(TEN, 1000, 3) + both_caps_exercised(), [])
    assert report.unexercised == ["chaos-10s"]


def test_the_planted_half_cap_is_caught():
    answers = admitted(TEN, 1000, CAPS[TEN].max_requests) + refused(TEN, 1001, 5) + both_caps_exercised()
    assert check_caps(answers, [], half=True).overshoot == CAPS[TEN].max_requests - CAPS[TEN].max_requests // 2


def test_availability_counts_whole_saturated_windows_and_quiet_ones_apart():
    cap = CAPS[TEN].max_requests
    answers = []
    for window, share in ((1000, cap), (1010, cap // 2), (1020, cap), (1030, cap)):
        answers += admitted(TEN, window, share) + refused(TEN, window + 5, 2)
    report = check_caps(answers + both_caps_exercised(), faults=[(1012.0, 1014.0)])
    assert report.saturated_windows >= 2 and report.admitted_min_pct == 50.0
    assert report.quiet_min_pct == 100.0


def on(node: int, answers: list[Answer]) -> list[Answer]:
    for answer in answers:
        answer.node = node
    return answers


def test_a_skewed_node_is_counted_in_the_window_of_its_own_clock():
    cap = CAPS[TEN].max_requests
    # n1 fills window 1000 early; n2, 2 s ahead, admits late in real window 1000, which is
    # its window 1010: no overshoot, once each admission is placed by its node's clock.
    answers = on(1, admitted(TEN, 1001, cap)) + on(2, admitted(TEN, 1008.5, cap)) + on(1, refused(TEN, 1003, 3))
    answers += both_caps_exercised()
    assert check_caps(answers, []).overshoot == cap, "without the skew it looks like twice the cap"
    assert check_caps(answers, [], skews={2: 2.0}).overshoot == 0


def test_an_overshoot_on_a_skewed_node_is_still_caught():
    cap = CAPS[TEN].max_requests
    answers = on(2, admitted(TEN, 1008.5, cap + 1)) + on(1, refused(TEN, 1011, 3)) + both_caps_exercised()
    report = check_caps(answers, [], skews={2: 2.0})
    assert report.overshoot == 1 and "window 1010" in report.worst


def test_an_unknown_node_is_placed_by_every_clock_or_not_at_all():
    cap = CAPS[TEN].max_requests
    # Admissions near the boundary whose node is unknown could belong to either window.
    answers = admitted(TEN, 1001, cap) + admitted(TEN, 1009.0, 5) + refused(TEN, 1003, 3) + both_caps_exercised()
    assert check_caps(answers, [], skews={2: 2.0}).overshoot == 0


def test_an_admission_naming_its_window_is_counted_even_when_it_straddles():
    cap = CAPS[TEN].max_requests
    # The cap in window 1000, then one more asked at 1009.99 and answered at 1010.01 whose
    # head (written at 1009.995) names the window ending at 1010: an overshoot of 1, which
    # counting whole calls only would miss.
    answers = admitted(TEN, 1001, cap) + refused(TEN, 1003, 3) + both_caps_exercised()
    late = Answer(TEN, 1009.99, 1010.01, 200, reset=0.005)
    report = check_caps(answers + [late], [])
    assert report.overshoot == 1 and "window 1000" in report.worst
    # The same call charged to the next window (head at 1010.005, 9.995 s before its end).
    assert check_caps(answers + [Answer(TEN, 1009.99, 1010.01, 200, reset=9.995)], []).overshoot == 0
    # Answered after its window ended: reset 0, the end lies inside the call.
    assert check_caps(answers + [Answer(TEN, 1009.99, 1010.01, 200, reset=0.0)], []).overshoot == 1


def test_a_reset_that_fits_no_single_window_places_nothing():
    from checks import charged_window
    assert charged_window(1000.0, 1000.2, 9.9, 10) == 1000
    assert charged_window(1009.0, 1019.5, 0.5, 10) is None, "a call longer than a window allows two"
    assert charged_window(1001.0, 1001.1, None, 10) == 1000 and charged_window(1009.95, 1010.05, None, 10) is None


def test_go_durations_are_read_as_the_node_writes_them():
    from workloads import go_duration
    assert [go_duration(t) for t in ("0s", "120ms", "8.5s", "1m0s", "6m0s", "720h0m0s", "1h2m3.004s")] == [0, 0.12, 8.5, 60, 360, 2592000, 3723.004]
    assert go_duration(None) is None and go_duration("") is None and go_duration("soon") is None and go_duration("5") is None


def test_a_token_cap_counts_reported_tokens_with_what_ran_over_estimates_allowed():
    cap = CAPS[TOKENS].max_tokens
    base = admitted(TEN, 1001, 3) + refused(TEN, 1002, 1) + admitted(MINUTE, 6000, 10) + refused(MINUTE, 6001, 1) + refused(TOKENS, 3005, 1)
    # Exactly the cap in reported tokens: no overshoot.
    assert check_caps(base + spent(3000, cap // 10, tokens=10), []).overshoot == 0
    # Ten tokens more than the cap, every answer within its estimate: an overshoot of 10.
    report = check_caps(base + spent(3000, cap // 10 + 1, tokens=10), [])
    assert report.overshoot == 10 and "chaos-tokens" in report.worst and "tokens admitted" in report.worst
    # The same tokens, but each answer 1 over its estimate of 9: the node may settle
    # beyond the cap by that much, and did not overshoot.
    assert check_caps(base + spent(3000, cap // 10 + 1, tokens=10, estimate=9), []).overshoot == 0
    # Half the cap planted: caught in tokens too.
    assert check_caps(base + spent(3000, cap // 20 + 5, tokens=10), [], half=True).overshoot == 50


def test_a_token_cap_never_exercised_is_named():
    answers = admitted(TEN, 1001, 3) + refused(TEN, 1002, 1) + admitted(MINUTE, 6000, 10) + refused(MINUTE, 6001, 1)
    assert check_caps(answers, []).unexercised == ["chaos-tokens"]
