"""One production tick over many series: baseline -> level -> score -> state machine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baseline import BaselineBatch
from .config import DetectorConfig
from .level import level_factor, level_update
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
    scores = score(observed, expected, batch.dispersion, config, batch.cold, batch.level_dispersion)
    onset = (
        newest_minute - onset_offsets(observed, expected, batch.dispersion, config) * step_minutes
    )
    tr = transition(
        state, scores.level, newest_minute, onset, config, step_minutes, scores.recent_level
    )
    plain = batch.expected(idx, np.full(n, newest_minute), step_minutes, judged=False)
    levels = level_update(
        state.level_observed, state.level_expected, observed[:, -1], plain, config, step_minutes
    )
    tr = Transition(tr.state.with_level(*levels), tr.opened, tr.reopened, tr.resolved)
    return TickResult(scores=scores, transition=tr, expected=expected[:, -1], onset=onset)
