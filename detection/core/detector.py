"""Offline, strictly causal detection over one series, on the production code path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import calibration
from .baseline import BaselineBatch
from .clock import UNKNOWN_OFFSET, Clock
from .config import DetectorConfig
from .fitting import fit_baseline
from .level import cold_track, history_length, level_track, window_factors
from .phase import (
    PHASE_UNDECIDED,
    block_buckets,
    block_gains,
    block_votes,
    clock_phase,
    is_block_end,
    is_decision_minute,
    phase_decide,
    phase_enabled,
    phase_in_force,
    phase_offsets,
    phase_rebased,
    phase_update,
)
from .scoring import ScoreResult, newest_in_excess, onset_offsets, score, with_threshold
from .state import NO_MINUTE, STATE_OK, STATE_OUTAGE, DetectorState, transition

# The onset look-back reaches this far (minutes), enough for a ramp to be traced to its start.
_ONSET_LOOKBACK_MINUTES = 60
# Refits as production schedules them (settings.CELERY_BEAT_SCHEDULE): every series nightly,
# and a young ("prior" or "mean") baseline every 15 minutes ("baselines-refit-cold"); offline
# the early refits come at these ages of the series, while history is short (cold start,
# bench/README.md).
REFIT_MINUTES = 1440
YOUNG_REFIT_MINUTES = 15
EARLY_REFIT_MINUTES = (60, 120, 240, 480, 960)


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
    phase: np.ndarray  # (t,) int8 daily phase in force (phase.py; 0 = undecided)


def refit_times(first_minute: int, last_minute: int) -> np.ndarray:
    """When the offline detector refits: early while history is short, then every refit period."""
    early = [first_minute + e for e in EARLY_REFIT_MINUTES if e < REFIT_MINUTES]
    regular = np.arange(first_minute, last_minute + 1, REFIT_MINUTES, dtype=np.int64)
    return np.unique(np.concatenate((np.asarray(early, dtype=np.int64), regular)))


def _window_matrix(n_rows: int, a: int, b: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(a, b)[:, None] + np.arange(-width + 1, 1)[None, :]
    return np.clip(idx, 0, n_rows - 1), idx >= 0


@dataclass(frozen=True, eq=False)
class _Scored:
    """Rows a..b-1 scored exactly as the production tick would at each of those minutes."""

    result: ScoreResult
    expected: np.ndarray  # judged expectation of each row's own bucket
    onset: np.ndarray
    level: tuple[float, float]  # level sums after the last row
    calibration: np.ndarray  # (calibration.ROW,) calibration after the last row
    in_excess: np.ndarray  # each row's own bucket above its expectation (state.transition)


def _score_rows(
    minutes: np.ndarray,
    values: np.ndarray,
    a: int,
    b: int,
    batch: BaselineBatch,
    step: int,
    width: int,
    config: DetectorConfig,
    level: tuple[float, float],
    phase: int,
    factor_hist: np.ndarray,
    cal: np.ndarray,
    clock: Clock | None = None,
) -> _Scored:
    """factor_hist: the level factor in force at every row, filled in here for rows a..b-1.

    clock: when given (and the baseline was fitted on it), each bucket is read at the phase
    its own minute's offset gives, as the tick does; `phase` is not used then.
    """
    series0 = np.zeros(1, np.int64)
    idx, present = _window_matrix(len(values), a, b, width)
    obs = np.where(present, values[idx], 0.0)
    cold = np.full(b - a, batch.cold[0])
    if batch.cold[0]:
        # On the prior: judged against the series' own recent level (level.cold_track).
        own, level = cold_track(values[a:b], step, level)
        judged = np.where(present, (own.rate * step)[:, None], 0.0)
        factors = np.ones(b - a)
        disp = level_disp = own.dispersion
        judge = own.has_data
    else:
        # Per bucket with the clock, one for all rows without it.
        offset: np.ndarray | int
        row_offset: np.ndarray | int
        decided: np.ndarray | bool
        if clock is not None:
            assert batch.utc_offset is not None  # BaselineBatch.__post_init__ fills it
            cells, _ = clock_phase(clock.at(minutes[idx]), batch.utc_offset[0])
            offset, decided = phase_offsets(cells), cells != PHASE_UNDECIDED
            row_offset = offset[:, -1]
        else:
            offset = row_offset = int(phase_offsets(np.array([phase]))[0])
            decided = phase != PHASE_UNDECIDED
        plain = batch.expected(series0, minutes[a:b], step, row_offset)
        factors, level = level_track(
            values[a:b], plain, config, step, level, float(batch.dispersion[0])
        )
        judged = batch.judged(series0, minutes[idx], step, offset, decided)
        judged = np.where(present, judged, 0.0)
        disp = np.full(b - a, batch.dispersion[0])
        level_disp = np.full(b - a, batch.level_dispersion[0])
        judge = None
    factor_hist[a:b] = factors
    # The tick's stored history at each row: the factors of the rows before it.
    h = history_length(config)
    before = np.arange(a, b)[:, None] + np.arange(-h, 0)[None, :]
    history = np.where(before >= 0, factor_hist[np.maximum(before, 0)], np.nan)
    win_factor = np.where(cold[:, None], 1.0, window_factors(history, factors, config))
    result = score(obs, judged, disp, config, cold, level_disp, judge, win_factor, step)
    exp = judged * factors[:, None]
    in_excess = newest_in_excess(obs, exp, disp)
    fresh = (result.recent_level >= 1) & in_excess
    # The calibration steps row by row through the tick's own step (calibration.step).
    limits, calibrated, cal_after = calibration.scan_bands(
        cal, result.window_surprise, judge, config, step, minutes[a:b], fresh
    )
    result = with_threshold(
        result, calibration.window_limits(limits, config.scoring.windows), calibrated
    )
    onset = minutes[a:b] - onset_offsets(obs, exp, disp, result.hot_span) * step
    return _Scored(result, exp[:, -1], onset, level, cal_after, in_excess)


def _phase_run(
    minutes: np.ndarray,
    values: np.ndarray,
    c: int,
    b: int,
    batch: BaselineBatch,
    scored: _Scored,
    outage: np.ndarray,
    step: int,
    config: DetectorConfig,
    sums: tuple[float, float],
    phase: int,
) -> tuple[int, tuple[float, float]]:
    """Fold rows c..b-1 into the phase evidence as the tick does after each of them.

    Returns the first row after c at which the phase in force would change (b if none) and
    the evidence in force at that row: the rows from there on were scored at a stale phase.
    """
    k = block_buckets(step)
    ends = np.flatnonzero(is_block_end(minutes[c:b], step)) + c
    if batch.cold[0] or len(ends) == 0:
        gains_minus = gains_plus = np.zeros(len(ends))
        usable = np.zeros(len(ends), dtype=bool)
    else:
        idx = ends[:, None] + np.arange(-k + 1, 1)[None, :]
        present = idx >= 0
        idx = np.clip(idx, 0, len(values) - 1)
        block = minutes[ends][:, None] - step * np.arange(k - 1, -1, -1)
        normal = block_votes(scored.result.level[ends - c], outage[ends], False)
        observed = np.where(present, values[idx], 0.0)
        gains_minus, gains_plus, usable = block_gains(
            batch, np.zeros(1, np.int64), block, observed, normal, step
        )
    # The clip makes the evidence a sequential scan (a few blocks an hour).
    after_minus, after_plus = [sums[0]], [sums[1]]
    for gm, gp, ok in zip(gains_minus.tolist(), gains_plus.tolist(), usable.tolist(), strict=True):
        m, p = phase_update(np.float64(after_minus[-1]), np.float64(after_plus[-1]), gm, gp, ok)
        after_minus.append(float(m))
        after_plus.append(float(p))
    decisions = np.flatnonzero(is_decision_minute(minutes[c + 1 : b])) + c + 1
    seen = np.searchsorted(ends, decisions)  # block ends folded in before each decision
    minus, plus = np.asarray(after_minus)[seen], np.asarray(after_plus)[seen]
    changed = np.flatnonzero(phase_decide(minus, plus) != phase)
    if len(changed):
        j = int(changed[0])
        return int(decisions[j]), (float(minus[j]), float(plus[j]))
    return b, (after_minus[-1], after_plus[-1])


def detect_series(
    minutes: np.ndarray,
    values: np.ndarray,
    step_minutes: int = 1,
    config: DetectorConfig | None = None,
    clock: Clock | None = None,
) -> SeriesResult:
    """Causal detection: output row t depends only on rows <= t.

    clock: the series' local clock when its zone is known (clock.py); the tick gets the same
    as its utc_offset.

    The baseline is refitted on rows before each refit time (known outage rows excluded);
    scoring and the state machine are the production functions. Quiet rows of an idle series
    are skipped because the transition is the identity on them.
    """
    config = (config or DetectorConfig()).at_spacing(step_minutes)
    minutes = np.asarray(minutes, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    n = len(minutes)
    if minutes.ndim != 1 or values.shape != minutes.shape:
        raise ValueError(
            f"minutes and values must be one value each: {minutes.shape}, {values.shape}"
        )
    if n and np.any(np.diff(minutes) <= 0):
        raise ValueError("minutes must be strictly increasing")
    expected = np.zeros(n)
    anomaly_score = np.zeros(n)
    level = np.zeros(n, dtype=np.int8)
    rule = np.full(n, "", dtype=object)
    is_anomaly = np.zeros(n, dtype=np.int8)
    phases = np.zeros(n, dtype=np.int8)
    if n == 0:
        return SeriesResult(minutes, expected, anomaly_score, is_anomaly, level, rule, (), phases)

    width = max(max(config.scoring.windows), _ONSET_LOOKBACK_MINUTES // step_minutes, 1)
    times = refit_times(int(minutes[0]), int(minutes[-1]))
    machine = _Machine(config, step_minutes)
    phase_on = phase_enabled(step_minutes)
    level_sums = (0.0, 0.0)
    factor_hist = np.ones(n)  # filled row by row as rows are scored
    cal = calibration.initial_bands(1)[0]
    phase, phase_sums, basis = PHASE_UNDECIDED, (0.0, 0.0), NO_MINUTE
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
            clock=clock,
        )
        # Next refit: the schedule, or sooner while the baseline is not seasonal yet (as the
        # production beat refits young series every few minutes).
        next_fit = (
            int(times[np.searchsorted(times, fit_at, side="right")])
            if times[-1] > fit_at
            else minutes[-1] + 1
        )
        if baseline.method != "hgb":
            next_fit = min(next_fit, fit_at + YOUNG_REFIT_MINUTES)
        b = max(int(np.searchsorted(minutes, next_fit)), a + 1)
        batch = BaselineBatch.from_baselines([baseline], config)
        # As the tick's first minute on a new baseline does (phase_rebased).
        code, minus, plus = phase_rebased(
            np.int8(phase),
            *phase_sums,
            basis,
            batch.fitted_at,
            batch.phase_moved,
        )
        phase = int(code[0]) if phase_on else PHASE_UNDECIDED
        phase_sums = (float(minus[0]), float(plus[0]))
        basis = baseline.fitted_at
        by_clock = None
        if phase_on and clock is not None and baseline.utc_offset != UNKNOWN_OFFSET:
            by_clock, _ = clock_phase(clock.at(minutes[a:b]), baseline.utc_offset)
        # With the clock, each bucket is read at its own minute's phase in one pass to the
        # next refit, and the evidence is not used meanwhile.
        clock_in_force = clock if by_clock is not None else None
        evidence_on = phase_on and by_clock is None
        c = a
        while c < b:
            if evidence_on:
                phase = int(phase_in_force(np.int8(phase), *phase_sums, int(minutes[c])))
            # Score optimistically to the next refit; the phase in force rarely changes, and
            # when it does the rows from that block on are scored again.
            snapshot = machine.snapshot()
            # _score_rows' arguments after rows c..end
            rest = (
                batch,
                step_minutes,
                width,
                config,
                level_sums,
                phase,
                factor_hist,
                cal,
                clock_in_force,
            )
            scored = _score_rows(minutes, values, c, b, *rest)
            machine.run(minutes, c, b, scored, is_anomaly)
            d = b
            if evidence_on:
                d, phase_sums = _phase_run(
                    minutes,
                    values,
                    c,
                    b,
                    batch,
                    scored,
                    is_anomaly.astype(bool),
                    step_minutes,
                    config,
                    phase_sums,
                    phase,
                )
            if d < b:
                machine.restore(snapshot)
                is_anomaly[c:b] = 0
                scored = _score_rows(minutes, values, c, d, *rest)
                machine.run(minutes, c, d, scored, is_anomaly)
            res = scored.result
            expected[c:d], anomaly_score[c:d], level[c:d], rule[c:d] = (
                scored.expected[: d - c],
                res.score[: d - c],
                res.level[: d - c],
                res.rule[: d - c],
            )
            level_sums = scored.level
            cal = scored.calibration
            phases[c:d] = phase if by_clock is None else by_clock[c - a : d - a]
            c = d
        if by_clock is not None:
            phase = int(by_clock[-1])  # stored, as the tick stores the phase it judged with
        a = b
    return SeriesResult(
        minutes, expected, anomaly_score, is_anomaly, level, rule, machine.finish(), phases
    )


# What _Machine.restore takes back: its state, outages, open onset and open minute.
_Snapshot = tuple[DetectorState, list[DetectedOutage], int, int]


class _Machine:
    """The production state machine over one series' rows, skipping idle stretches."""

    def __init__(self, config: DetectorConfig, step_minutes: int) -> None:
        self.config = config
        self.step = step_minutes
        self.state = DetectorState.initial(1)
        self.outages: list[DetectedOutage] = []
        self.open_onset = self.open_at = -1

    def snapshot(self) -> _Snapshot:
        return self.state, list(self.outages), self.open_onset, self.open_at

    def restore(self, snapshot: _Snapshot) -> None:
        self.state, outages, self.open_onset, self.open_at = snapshot
        self.outages = list(outages)

    def run(
        self,
        minutes: np.ndarray,
        a: int,
        b: int,
        scored: _Scored,
        is_anomaly: np.ndarray,
    ) -> None:
        """Advance through rows a..b-1, writing is_anomaly for each."""
        res, onset = scored.result, scored.onset
        assert res.hot_span is not None  # _score_rows' result is with_threshold's
        busy = np.flatnonzero(res.level > 0) + a
        r = a
        while r < b:
            state = self.state
            if state.state[0] == STATE_OK and state.hot_ticks[0] == 0 and res.level[r - a] == 0:
                k = np.searchsorted(busy, r)
                if k == len(busy):
                    break
                r = int(busy[k])
            tr = transition(
                state,
                res.level[r - a : r - a + 1],
                minutes[r],
                onset[r - a],
                self.config,
                self.step,
                res.recent_level[r - a : r - a + 1],
                res.hot_span[r - a : r - a + 1],
                in_excess=scored.in_excess[r - a : r - a + 1],
            )
            self.state = tr.state
            if tr.opened[0]:
                self.open_onset, self.open_at = int(tr.state.onset[0]), int(minutes[r])
            elif tr.reopened[0] and self.outages:
                last = self.outages.pop()
                self.open_onset, self.open_at = last.onset, last.opened_at
            if tr.resolved[0]:
                end = int(tr.state.last_hot[0]) + self.step
                self.outages.append(DetectedOutage(self.open_onset, self.open_at, end))
            is_anomaly[r] = tr.state.state[0] == STATE_OUTAGE
            r += 1

    def finish(self) -> tuple[DetectedOutage, ...]:
        if self.state.state[0] == STATE_OUTAGE:
            self.outages.append(DetectedOutage(self.open_onset, self.open_at, -1))
        return tuple(self.outages)
