"""The state machine's transition function (pure numpy)."""

import numpy as np

from detection.core import DetectorConfig, DetectorState, transition
from detection.core import state as state_module

CONFIG = DetectorConfig.from_dict({"quiet_minutes": 15, "reopen_minutes": 30})


def run(levels: list[int], start: int = 1000):
    state = DetectorState.initial(1)
    states, events = [], []
    for i, level in enumerate(levels):
        tr = transition(state, np.array([level]), start + i, start, CONFIG)
        state = tr.state
        states.append(int(state.state[0]))
        events.append(
            "opened"
            if tr.opened[0]
            else "reopened"
            if tr.reopened[0]
            else "resolved"
            if tr.resolved[0]
            else ""
        )
    return states, events, state


def test_opens_immediately_on_level_two():
    states, events, state = run([0, 2])
    assert states == [0, 2] and events[1] == "opened"
    assert state.onset[0] == 1000


def test_possible_problems_do_not_open():
    states, events, _ = run([1, 1, 1, 0])
    assert states == [1, 1, 1, 0] and not any(events)


def test_one_dip_does_not_close():
    states, events, _ = run([2, 0, 0, 0, 2, 0] + [0] * 10)
    assert "resolved" not in events
    assert all(s == 2 for s in states)


def test_resolves_after_quiet_minutes():
    states, events, state = run([2, 2] + [0] * 15)
    assert events[-1] == "resolved" and states[-1] == 0
    assert events.count("resolved") == 1
    assert state.last_hot[0] == 1001  # ended after the last elevated bucket


def test_spike_right_after_resolution_reopens():
    levels = [2] + [0] * 15 + [0] * 5 + [2]
    _, events, state = run(levels)
    assert events.count("opened") == 1
    assert events[-1] == "reopened"
    assert state.onset[0] == 1000


def test_spike_long_after_resolution_opens_new_outage():
    _, events, _ = run([2] + [0] * 15 + [0] * 40 + [2])
    assert events.count("opened") == 2


def test_a_re_fire_exactly_the_reopen_window_after_resolution_continues_the_outage():
    # The window is inclusive: at exactly OUTAGE_REOPEN_MINUTES the service layer continues the
    # old outage (`_reopen_recent`), so the core must call it reopened too; `<` in its place
    # passed every test (mutation tester, forty-sixth session).
    quiet = [2] + [0] * 15  # opens at 1000, resolves at 1015
    _, events, state = run(quiet + [0] * 29 + [2])  # fires again at 1045
    assert state.resolved_at[0] == 1015
    assert events[-1] == "reopened" and events.count("opened") == 1
    _, events, _ = run(quiet + [0] * 30 + [2])  # 1046: a minute past the window
    assert events[-1] == "opened"


def test_confirmation_ticks_delay_opening(monkeypatch):
    monkeypatch.setattr(state_module, "CONFIRM_TICKS", 2)
    state = DetectorState.initial(1)
    tr = transition(state, np.array([2]), 1, 1, CONFIG)
    assert tr.state.state[0] != 2
    tr = transition(tr.state, np.array([2]), 2, 1, CONFIG)
    assert tr.opened[0]


def test_idle_transition_is_identity():
    state = DetectorState.initial(3)
    tr = transition(state, np.zeros(3, dtype=np.int8), 5, 5, CONFIG)
    for name in ("state", "hot_ticks", "quiet_minutes", "onset", "last_hot", "resolved_at"):
        np.testing.assert_array_equal(getattr(tr.state, name), getattr(state, name))


def test_vectorised_over_series():
    state = DetectorState.initial(3)
    tr = transition(state, np.array([0, 1, 2]), 7, np.array([7, 7, 5]), CONFIG)
    assert list(tr.state.state) == [0, 1, 2]
    assert list(tr.opened) == [False, False, True]
    assert tr.state.onset[2] == 5


def test_after_an_outage_only_evidence_gathered_since_may_open_another():
    # Past the reopen window, a bump whose shortest hot window still reaches back into the
    # outage is its residue plus a small wave: it must not open another. The same bump seen by
    # a window that begins after the outage's last elevated bucket may. (Within the reopen
    # window the outage continues on any evidence: test_spike_right_after_resolution_reopens.)
    def after(hot_span):
        state = DetectorState.initial(1)
        for i, level in enumerate([2, 2] + [0] * 15):
            state = transition(state, np.array([level]), 1000 + i, 1000, CONFIG).state
        assert state.last_hot[0] == 1001 and state.resolved_at[0] == 1016
        return transition(
            state, np.array([2]), 1050, 1050, CONFIG, 1, np.array([1]), np.array([hot_span])
        )

    blocked = after(50)  # the window covers minutes 1001..1050
    assert blocked.state.state[0] == state_module.STATE_POSSIBLE
    assert not blocked.opened[0] and not blocked.reopened[0]
    assert after(49).opened[0]  # 1002..1050: all of it after the outage


def test_long_after_an_outage_any_window_may_open():
    state = DetectorState.initial(1)
    for i, level in enumerate([2] + [0] * 15):
        state = transition(state, np.array([level]), 1000 + i, 1000, CONFIG).state
    tr = transition(state, np.array([2]), 1200, 1200, CONFIG, 1, np.array([0]), np.array([60]))
    assert tr.opened[0]


def test_a_stored_calibration_of_an_earlier_layout_keeps_its_history():
    # Stored before the recent peaks existed: extended with empty ones, not restarted.
    # Stored before the bands: the one tail (the strongest window's) is every band's.
    from detection.core.calibration import BANDS, EARLIER_WIDTHS, ROW, WIDTH

    record = DetectorState.initial(1).to_records()[0]
    width = min(EARLIER_WIDTHS)
    older = {**record, "calibration": [2.0] * width}
    calibration = DetectorState.from_records([older]).calibration[0]
    assert calibration.shape == (ROW,)
    kept = width - 1  # less the count of all quiet episodes (calibration.EARLIER_QUIET)
    for band in calibration.reshape(BANDS, WIDTH):
        assert (band[:kept] == 2.0).all()
        assert (band[kept:] == 0.0).all()
    single = {**record, "calibration": [3.0] * WIDTH}
    assert (DetectorState.from_records([single]).calibration == 3.0).all()
    # Any other width (an older state version) starts afresh.
    other = {**record, "calibration": [1.0] * 8}
    assert (DetectorState.from_records([other]).calibration == 0).all()


def test_a_shorter_level_history_keeps_its_newest_factor_newest_beside_longer_ones():
    """Review (forty-third session): restored beside a longer history (a series not ticked
    since `windows` changed), a short one was padded after its newest factor, so the 60-bucket
    sum was judged at the level of three ticks before."""
    from detection.core.level import history_length, window_factors

    config = DetectorConfig()
    full = DetectorState.initial(1).to_records()[0]
    full["level_history"] = [1.0] * history_length(config)
    short = DetectorState.initial(1).to_records()[0]
    short["level_history"] = [1.2, 1.15, 1.1]  # oldest first
    alone = DetectorState.from_records([short])
    mixed = DetectorState.from_records([full, short])
    assert mixed.level_history[1, -1] == 1.1
    now = np.array([1.0])
    np.testing.assert_array_equal(
        window_factors(mixed.level_history[1:], now, config),
        window_factors(alone.level_history, now, config),
    )
