"""One production tick over many series: baseline -> level -> score -> state machine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baseline import BaselineBatch
from .config import DetectorConfig
from .level import cold_state, cold_update, level_factor, level_update
from .scoring import ScoreResult, onset_offsets, score
from .state import DetectorState, Transition, transition


@dataclass(frozen=True, eq=False)
class TickResult:
    scores: ScoreResult  # verdict per series on the newest bucket, with the evidence
    transition: Transition  # new state (store it) and opened/reopened/resolved events
    expected: np.ndarray  # (n,) expected count of the newest bucket, as judged
    onset: np.ndarray  # (n,) first minute of the current excess run


def run_tick(
    batch: BaselineBatch,
    state: DetectorState,
    observed: np.ndarray,
    newest_minute: int,
    config: DetectorConfig,
    step_minutes: int = 1,
) -> TickResult:
    """observed: (n, w) counts of the last w buckets, newest last, w >= max(config.windows).

    This is the exact sequence detect_series runs per row, so the offline evaluation measures
    the production path. The Django side only turns rows into these arrays and back.
    """
    observed = np.asarray(observed, dtype=np.float64)
    n, w = observed.shape
    idx = np.arange(n)
    window = newest_minute - step_minutes * np.arange(w - 1, -1, -1, dtype=np.int64)
    factor = level_factor(state.level_observed, state.level_expected, config, step_minutes)
    expected = batch.expected(idx, np.broadcast_to(window, (n, w)), step_minutes) * factor[:, None]
    # Cold series (prior baseline) are judged against their own recent level instead.
    own = cold_state(state.level_observed, state.level_expected, config)
    expected = np.where(batch.cold[:, None], (own.rate * step_minutes)[:, None], expected)
    dispersion = np.where(batch.cold, own.dispersion, batch.dispersion)
    level_dispersion = np.where(batch.cold, own.dispersion, batch.level_dispersion)
    judge = ~batch.cold | own.has_data
    scores = score(observed, expected, dispersion, config, batch.cold, level_dispersion, judge)
    onset = newest_minute - onset_offsets(observed, expected, dispersion, config) * step_minutes
    tr = transition(
        state, scores.level, newest_minute, onset, config, step_minutes, scores.recent_level
    )
    plain = batch.expected(idx, np.full(n, newest_minute), step_minutes, judged=False)
    warm = level_update(
        state.level_observed, state.level_expected, observed[:, -1], plain, config, step_minutes
    )
    cold = cold_update(
        state.level_observed, state.level_expected, observed[:, -1], config, step_minutes
    )
    levels = (
        np.where(batch.cold, cold[0], warm[0]),
        np.where(batch.cold, cold[1], warm[1]),
    )
    tr = Transition(tr.state.with_level(*levels), tr.opened, tr.reopened, tr.resolved)
    return TickResult(scores=scores, transition=tr, expected=expected[:, -1], onset=onset)
