"""Pure detection core: arrays in, frozen dataclasses out. Never imports Django."""

from .baseline import Baseline, BaselineBatch, expected_counts
from .clock import UNKNOWN_OFFSET, Clock, zone_clock
from .config import DetectorConfig
from .detector import DetectedOutage, SeriesResult, detect_series, refit_times
from .fitting import fit_baseline, prior_baseline
from .level import level_factor, level_track, level_update
from .scoring import (
    LEVEL_OK,
    LEVEL_OUTAGE,
    LEVEL_POSSIBLE,
    ScoreResult,
    onset_offsets,
    score,
    tail_probability,
)
from .state import STATE_OK, STATE_OUTAGE, STATE_POSSIBLE, DetectorState, Transition, transition
from .tick import TickResult, run_tick

__all__ = [
    "LEVEL_OK",
    "LEVEL_OUTAGE",
    "LEVEL_POSSIBLE",
    "STATE_OK",
    "STATE_OUTAGE",
    "STATE_POSSIBLE",
    "UNKNOWN_OFFSET",
    "Baseline",
    "BaselineBatch",
    "Clock",
    "DetectedOutage",
    "DetectorConfig",
    "DetectorState",
    "ScoreResult",
    "SeriesResult",
    "TickResult",
    "Transition",
    "detect_series",
    "expected_counts",
    "fit_baseline",
    "level_factor",
    "level_track",
    "level_update",
    "onset_offsets",
    "prior_baseline",
    "refit_times",
    "run_tick",
    "score",
    "tail_probability",
    "transition",
    "zone_clock",
]
