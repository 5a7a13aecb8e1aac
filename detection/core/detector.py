"""Offline, strictly causal detection over one series, on the production code path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baseline import BaselineBatch
from .config import DetectorConfig
from .fitting import fit_baseline
from .level import cold_track, level_track
from .scoring import ScoreResult, onset_offsets, score
from .state import STATE_OK, STATE_OUTAGE, DetectorState, transition

# The onset look-back reaches this far (minutes), enough for a ramp to be traced to its start.
_ONSET_LOOKBACK_MINUTES = 60


@dataclass(frozen=True)
class DetectedOutage:
    onset: int  # first minute of the excess run
    opened_at: int  # minute of the bucket that opened it (detection time)
    ended_at: int  # end of the last elevated bucket; -1 if still open at the end of the series


@dataclass(frozen=True, eq=False)
class SeriesResult:
    minutes: np.ndarray  # (t,) int64
    expected: np.ndarray  # (t,) expected count judged against (shift-tolerant), per bucket
    anomaly_score: np.ndarray  # (t,) in [0, 1]
    is_anomaly: np.ndarray  # (t,) int8: 1 while an outage is open ("problems detected")
    level: np.ndarray  # (t,) int8 scoring level of each bucket
    rule: np.ndarray  # (t,) str
    outages: tuple[DetectedOutage, ...]


def refit_times(first_minute: int, last_minute: int, config: DetectorConfig) -> np.ndarray:
    """When the offline detector refits: early while history is short, then every refit period."""
    early = [first_minute + e for e in config.early_refit_minutes if e < config.refit_minutes]
    regular = np.arange(first_minute, last_minute + 1, config.refit_minutes, dtype=np.int64)
    return np.unique(np.concatenate((np.asarray(early, dtype=np.int64), regular)))


def _window_matrix(n_rows: int, a: int, b: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(a, b)[:, None] + np.arange(-width + 1, 1)[None, :]
    return np.clip(idx, 0, n_rows - 1), idx >= 0


def _score_segment(
    minutes: np.ndarray,
    values: np.ndarray,
    a: int,
    b: int,
    batch: BaselineBatch,
    step: int,
    width: int,
    config: DetectorConfig,
    level: tuple[float, float],
) -> tuple[ScoreResult, np.ndarray, np.ndarray, tuple[float, float]]:
    """Score rows a..b-1 exactly as the production tick would at each of those minutes."""
    series0 = np.zeros(1, np.int64)
    idx, present = _window_matrix(len(values), a, b, width)
    obs = np.where(present, values[idx], 0.0)
    cold = np.full(b - a, batch.cold[0])
    if batch.cold[0]:
        # On the prior: judged against the series' own recent level (level.cold_track).
        own, level = cold_track(values[a:b], config, step, level)
        exp = np.where(present, (own.rate * step)[:, None], 0.0)
        disp = level_disp = own.dispersion
        judge = own.has_data
    else:
        plain = batch.expected(series0, minutes[a:b], step, judged=False)
        factors, level = level_track(values[a:b], plain, config, step, level)
        exp = np.where(present, batch.expected(series0, minutes[idx], step), 0.0) * factors[:, None]
        disp = np.full(b - a, batch.dispersion[0])
        level_disp = np.full(b - a, batch.level_dispersion[0])
        judge = None
    result = score(obs, exp, disp, config, cold, level_disp, judge)
    onset = minutes[a:b] - onset_offsets(obs, exp, disp, config) * step
    return result, exp[:, -1], onset, level


def detect_series(
    minutes: np.ndarray,
    values: np.ndarray,
    step_minutes: int = 1,
    config: DetectorConfig | None = None,
) -> SeriesResult:
    """Causal detection: output row t depends only on rows <= t.

    The baseline is refitted on rows before each refit time (known outage rows excluded);
    scoring and the state machine are the production functions. Quiet rows of an idle series
    are skipped because the transition is the identity on them.
    """
    config = config or DetectorConfig()
    minutes = np.asarray(minutes, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    n = len(minutes)
    if n and np.any(np.diff(minutes) <= 0):
        raise ValueError("minutes must be strictly increasing")
    expected = np.zeros(n)
    anomaly_score = np.zeros(n)
    level = np.zeros(n, dtype=np.int8)
    calm = np.zeros(n, dtype=np.int8)
    rule = np.full(n, "", dtype=object)
    is_anomaly = np.zeros(n, dtype=np.int8)
    outages: list[DetectedOutage] = []
    if n == 0:
        return SeriesResult(minutes, expected, anomaly_score, is_anomaly, level, rule, ())

    width = max(max(config.windows), _ONSET_LOOKBACK_MINUTES // step_minutes, 1)
    times = refit_times(int(minutes[0]), int(minutes[-1]), config)
    state = DetectorState.initial(1)
    open_onset = open_at = -1
    level_sums = (0.0, 0.0)
    a = 0
    while a < n:
        fit_at = int(minutes[a])
        baseline = fit_baseline(
            minutes[:a],
            values[:a],
            fitted_at=fit_at,
            step_minutes=step_minutes,
            exclude=is_anomaly[:a].astype(bool),
            config=config,
        )
        # Next refit: the schedule, or sooner while the baseline is not seasonal yet (as the
        # production beat refits young series every few minutes).
        next_fit = (
            int(times[np.searchsorted(times, fit_at, side="right")])
            if times[-1] > fit_at
            else minutes[-1] + 1
        )
        if baseline.method != "hgb":
            next_fit = min(next_fit, fit_at + config.young_refit_minutes)
        b = max(int(np.searchsorted(minutes, next_fit)), a + 1)
        batch = BaselineBatch.from_baselines([baseline], config.shift_tolerance_minutes)
        res, exp_now, onset, level_sums = _score_segment(
            minutes, values, a, b, batch, step_minutes, width, config, level_sums
        )
        expected[a:b], anomaly_score[a:b], level[a:b], rule[a:b] = (
            exp_now,
            res.score,
            res.level,
            res.rule,
        )
        calm[a:b] = res.recent_level
        busy = np.flatnonzero(res.level > 0) + a
        r = a
        while r < b:
            if state.state[0] == STATE_OK and state.hot_ticks[0] == 0 and level[r] == 0:
                k = np.searchsorted(busy, r)
                if k == len(busy):
                    break
                r = int(busy[k])
            tr = transition(
                state,
                level[r : r + 1],
                minutes[r],
                onset[r - a],
                config,
                step_minutes,
                calm[r : r + 1],
            )
            state = tr.state
            if tr.opened[0]:
                open_onset, open_at = int(state.onset[0]), int(minutes[r])
            elif tr.reopened[0] and outages:
                last = outages.pop()
                open_onset, open_at = last.onset, last.opened_at
            if tr.resolved[0]:
                end = int(state.last_hot[0]) + step_minutes
                outages.append(DetectedOutage(open_onset, open_at, end))
            is_anomaly[r] = state.state[0] == STATE_OUTAGE
            r += 1
        a = b
    if state.state[0] == STATE_OUTAGE:
        outages.append(DetectedOutage(open_onset, open_at, -1))
    return SeriesResult(minutes, expected, anomaly_score, is_anomaly, level, rule, tuple(outages))
