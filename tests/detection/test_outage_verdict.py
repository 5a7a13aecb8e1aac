"""The verdict text of an outage event explains what the detector compared."""

import datetime as dt

import numpy as np
import pytest

from detection.core import BaselineBatch, DetectorConfig, DetectorState, fit_baseline, run_tick
from detection.core.phase import PHASE_MINUS, PHASE_ZERO
from detection.services.outages import TickView, _verdict
from tests.detection.dst_series import DAY, series_with_dst

CONFIG = DetectorConfig()


@pytest.mark.parametrize(
    ("minus", "plus", "phase", "says_shift"),
    [(-12.0, -12.0, PHASE_ZERO, False), (12.0, 0.0, PHASE_MINUS, True)],
)
def test_verdict_says_when_the_daily_pattern_is_judged_an_hour_off(minus, plus, phase, says_shift):
    minutes, values, _ = series_with_dst(0, days=8)
    fit_at = int(minutes[7 * DAY])
    batch = BaselineBatch.from_baselines(
        [fit_baseline(minutes[: 7 * DAY], values[: 7 * DAY], fitted_at=fit_at, config=CONFIG)],
        CONFIG,
    )
    # Evidence on this baseline for reading the profile an hour earlier / later than fitted
    # (phase.py); the phase in force is decided from it at a block start.
    state = DetectorState.initial(1)
    state = state.with_phase(state.phase, np.array([minus]), np.array([plus]), np.array([fit_at]))
    now = fit_at + 12 * 60  # noon, a multiple of the 15-minute block
    observed = values[None, 7 * DAY + 12 * 60 - 59 : 7 * DAY + 12 * 60 + 1].copy()
    observed[0, -1] += 60
    tick = run_tick(batch, state, observed, now, CONFIG)
    assert tick.transition.state.phase[0] == phase and tick.scores.level[0] == 2
    at = dt.datetime.fromtimestamp(now * 60, tz=dt.UTC)
    view = TickView(keys=[(1, "")], result=tick, observed=observed[:, -1], minute=at, now=at)

    text = _verdict(view, 0)
    assert "reports in the last minute vs" in text
    assert ("an hour later than in the fitted history" in text) is says_shift
