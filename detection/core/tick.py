"""One production tick over many series: baseline -> level -> score -> state machine."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import calibration
from .baseline import BaselineBatch
from .config import DetectorConfig
from .level import (
    cold_seeded,
    cold_state,
    cold_update,
    history_length,
    history_padded,
    history_push,
    level_factor,
    level_update,
    window_factors,
)
from .phase import (
    PHASE_UNDECIDED,
    block_buckets,
    block_gains,
    block_votes,
    clock_phase,
    is_block_end,
    phase_enabled,
    phase_in_force,
    phase_offsets,
    phase_rebased,
    phase_update,
)
from .scoring import (
    ScoreResult,
    buckets_in_excess,
    newest_in_excess,
    onset_offsets,
    score,
    with_threshold,
)
from .state import STATE_OUTAGE, DetectorState, Transition, transition


@dataclass(frozen=True, eq=False)
class TickResult:
    scores: ScoreResult  # verdict per series on the newest bucket, with the evidence
    transition: Transition  # new state (store it) and opened/reopened/resolved events
    expected: np.ndarray  # (n,) expected count of the newest bucket, as judged
    # (n,) the newest bucket's normal as people are told it: the fitted baseline at that
    # minute, as the chart draws it (no tolerance, no level tracking; a cold series: its
    # judged expectation, which the words never call normal). The judged one follows an
    # outage's own minutes up by the level tracker (bench/README.md), so quoted as "normal"
    # it grew with the outage it measured and disagreed with the chart (words tester F6).
    normal: np.ndarray
    onset: np.ndarray  # (n,) first minute of the current excess run
    # (n, w) expected count of each bucket of the window, newest last, as judged now: what an
    # outage opened by a long sum quotes for a minute before its detection.
    window_expected: np.ndarray


def run_tick(
    batch: BaselineBatch,
    state: DetectorState,
    observed: np.ndarray,
    newest_minute: int,
    config: DetectorConfig,
    step_minutes: int = 1,
    utc_offset: np.ndarray | None = None,
    unheard: bool = False,
    skipped_from: int | None = None,
    quiet_before: np.ndarray | None = None,
) -> TickResult:
    """observed: (n, w) counts of the last w buckets, newest last, w >= max(windows).
    utc_offset: each series' UTC offset when its clock is known (clock.py), else
    UNKNOWN_OFFSET: (n, w) at each bucket of the window, or (n,) when no clock changed within
    it; None: no clock known for any.
    unheard: the newest bucket is one whose reports did not reach us (our own outage, which
    only the caller can know): open outages do not count it as quiet, and the level trackers
    do not learn from it.
    skipped_from: the buckets from this minute up to the newest were never judged (a caller
    catching up on a long backlog skipped them): the open outages look at those in the window
    (_skipped_bridged).
    quiet_before: (n,) minutes each series was watched without a report before its first
    bucket (a service in the catalog that nobody reported yet): a cold series whose sums have
    not begun begins with that quiet (level.cold_seeded), so its first reports are judged.

    This is the exact sequence detect_series runs per row, so the offline evaluation measures
    the production path. The Django side only turns rows into these arrays and back.
    """
    config = config.at_spacing(step_minutes)
    observed = np.asarray(observed, dtype=np.float64)
    n, w = observed.shape
    if quiet_before is not None:
        seeded = cold_seeded(
            state.level_observed, state.level_expected, quiet_before, batch.cold, step_minutes
        )
        state = state.with_level(*seeded, state.level_history)
    idx = np.arange(n)
    window = newest_minute - step_minutes * np.arange(w - 1, -1, -1, dtype=np.int64)
    use_phase = phase_enabled(step_minutes)
    phase, minus, plus = phase_rebased(
        state.phase,
        state.phase_minus,
        state.phase_plus,
        state.phase_basis,
        batch.fitted_at,
        batch.phase_moved,
    )
    phase = (
        phase_in_force(phase, minus, plus, newest_minute)
        if use_phase
        else np.zeros(n, dtype=np.int8)
    )
    offset, decided = phase_offsets(phase), phase != PHASE_UNDECIDED
    if use_phase and utc_offset is not None:
        # A known clock decides the phase from the first minute after a change, bucket by
        # bucket: the buckets of the window before the change are read at the old offset.
        # The evidence keeps accruing but is not used while the clock is known.
        cells = np.asarray(utc_offset)
        cells = cells if cells.ndim == 2 else cells[:, None]
        assert batch.utc_offset is not None  # BaselineBatch.__post_init__ fills it
        by_clock, known = clock_phase(cells, batch.utc_offset[:, None])
        known = known[:, -1]
        phase = np.where(known, by_clock[:, -1], phase).astype(np.int8)
        offset = np.where(known[:, None], phase_offsets(by_clock), offset[:, None])
        decided = np.where(known[:, None], by_clock != PHASE_UNDECIDED, decided[:, None])
    factor = level_factor(state.level_observed, state.level_expected, config, step_minutes)
    judged = batch.judged(idx, np.broadcast_to(window, (n, w)), step_minutes, offset, decided)
    # Cold series (prior baseline) are judged against their own recent level instead.
    own = cold_state(state.level_observed, state.level_expected)
    judged = np.where(batch.cold[:, None], (own.rate * step_minutes)[:, None], judged)
    factor = np.where(batch.cold, 1.0, factor)
    expected = judged * factor[:, None]
    dispersion = np.where(batch.cold, own.dispersion, batch.dispersion)
    level_dispersion = np.where(batch.cold, own.dispersion, batch.level_dispersion)
    judge = ~batch.cold | own.has_data
    past = history_padded(state.level_history, history_length(config))
    win_factor = np.where(batch.cold[:, None], 1.0, window_factors(past, factor, config))
    scores = score(
        observed,
        judged,
        dispersion,
        config,
        batch.cold,
        level_dispersion,
        judge,
        win_factor,
        step_minutes,
    )
    in_excess = newest_in_excess(observed, expected, dispersion)
    limit, calibrated, new_calibration = calibration.tick_bands(
        state.calibration,
        scores.window_surprise,
        np.asarray(judge, bool),
        config,
        step_minutes,
        newest_minute,
        (scores.recent_level >= 1) & in_excess,
    )
    scores = with_threshold(
        scores, calibration.window_limits(limit, config.scoring.windows), calibrated
    )
    offsets = onset_offsets(observed, expected, dispersion, scores.hot_span)
    onset = newest_minute - offsets * step_minutes
    before = state
    if skipped_from is not None:
        before = _skipped_bridged(state, observed, expected, dispersion, window, skipped_from)
    tr = transition(
        before,
        scores.level,
        newest_minute,
        onset,
        config,
        step_minutes,
        scores.recent_level,
        scores.hot_span,
        unheard,
        in_excess,
    )
    newest = observed[:, -1]
    at = np.full(n, newest_minute)
    newest_offset = offset[:, -1] if offset.ndim == 2 else offset
    plain = batch.expected(idx, at, step_minutes, newest_offset)
    # The chart reads the stored baseline at the minute itself; so do the words, even where
    # the series' daily phase has moved (until the refit moves the profile).
    drawn = batch.expected(idx, at, step_minutes) if np.any(newest_offset) else plain
    warm = level_update(
        state.level_observed,
        state.level_expected,
        newest,
        plain,
        config,
        step_minutes,
        batch.dispersion,
    )
    cold = cold_update(state.level_observed, state.level_expected, newest, step_minutes)
    levels = (
        np.where(batch.cold, cold[0], warm[0]),
        np.where(batch.cold, cold[1], warm[1]),
    )
    if unheard:  # its missing reports would drag every level down
        levels = (state.level_observed, state.level_expected)
    if use_phase and is_block_end(newest_minute, step_minutes):
        # Each block of normal buckets votes for the phase that explains it best.
        k = block_buckets(step_minutes)
        block = np.broadcast_to(window[-k:], (n, k))
        normal = block_votes(scores.level, tr.state.state == STATE_OUTAGE, batch.cold)
        gains = block_gains(batch, idx, block, observed[:, -k:], normal, step_minutes)
        minus, plus = phase_update(minus, plus, *gains)
    history = history_push(past, factor, config)
    new_state = tr.state.with_level(*levels, history)
    new_state = new_state.with_phase(phase, minus, plus, batch.fitted_at)
    new_state = new_state.with_calibration(new_calibration)
    tr = Transition(new_state, tr.opened, tr.reopened, tr.resolved)
    return TickResult(
        scores=scores,
        transition=tr,
        expected=expected[:, -1],
        normal=np.where(batch.cold, expected[:, -1], drawn),
        onset=onset,
        window_expected=expected,
    )


def _skipped_bridged(
    state: DetectorState,
    observed: np.ndarray,
    expected: np.ndarray,
    dispersion: np.ndarray,
    window: np.ndarray,
    skipped_from: int,
) -> DetectorState:
    """`state` with the skipped buckets of the window counted for the outages open across them.

    An open outage's last elevated bucket (its end) moves and its quiet count restarts only on
    judged buckets: across a skip both stayed at the last one judged before it, so an outage
    whose reports stayed high into the skipped minutes resolved with its end at the skip's
    start, and one quiet for a while before the skip and flaring up in it resolved on the first
    bucket after. The newest skipped bucket in excess (the per-bucket rule of onset_offsets)
    now counts as elevated, and quiet counts again after it, from judged buckets only. Skipped
    buckets older than the window stay unknown.
    """
    skipped = (window >= skipped_from) & (window < window[-1])
    hot = buckets_in_excess(observed, expected, dispersion) & skipped
    hot &= (state.state == STATE_OUTAGE)[:, None]
    flared = hot.any(axis=1)
    if not flared.any():
        return state
    newest = window[len(window) - 1 - np.argmax(hot[:, ::-1], axis=1)]
    return replace(
        state,
        last_hot=np.where(flared, np.maximum(state.last_hot, newest), state.last_hot),
        quiet_minutes=np.where(flared, 0, state.quiet_minutes).astype(state.quiet_minutes.dtype),
    )
