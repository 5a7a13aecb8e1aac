"""Daylight saving in the history: fit the profile on days aligned to the current phase.

Four weeks of history that straddle a clock change hold two daily patterns an hour apart; a
model fitted on both learns a blurred curve that fits neither (too high before the morning
rise, too low after it), for four weeks after every change. So the fit finds the phase of each
history day against a first draft (the same log-likelihood evidence the tick uses, phase.py),
moves every day onto the phase of the most recent days and fits again. The final profile then
matches today's pattern at phase zero (Baseline.phase_moved tells the tick so).
"""

from __future__ import annotations

import numpy as np

from .baseline import Baseline
from .config import DetectorConfig
from .dispersion import window_alpha
from .phase import PHASE_UNDECIDED, loglik_gains, phase_decide, phase_offsets
from .timegrid import MINUTES_PER_DAY


def _hourly_gains(
    minutes: np.ndarray, values: np.ndarray, baseline: Baseline, step: int, config: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hour of history: its start minute and the evidence for the shifted phases."""
    shift = config.phase_shift_minutes
    hours, inv = np.unique(minutes // 60, return_inverse=True)
    total = np.bincount(inv, weights=values, minlength=len(hours))
    mus = tuple(
        np.bincount(inv, weights=baseline.expected(minutes + s, step), minlength=len(hours))
        for s in (-shift, 0, shift)
    )
    alpha = window_alpha(baseline.dispersion, baseline.level_dispersion, max(60 // step, 1))
    # An hour is four blocks of the tick's vote (phase_block_minutes).
    blocks = 60 / config.phase_block_minutes
    gain_minus, gain_plus = loglik_gains(total, mus, alpha, blocks * config.phase_block_max_gain)
    return hours * 60, gain_minus, gain_plus


def _day_evidence(
    minutes: np.ndarray, values: np.ndarray, baseline: Baseline, step: int, config: DetectorConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC days of the history (first minute) and each day's evidence for minus and plus."""
    starts, gain_minus, gain_plus = _hourly_gains(minutes, values, baseline, step, config)
    days, inv = np.unique(starts // MINUTES_PER_DAY, return_inverse=True)
    minus = np.bincount(inv, weights=gain_minus, minlength=len(days))
    plus = np.bincount(inv, weights=gain_plus, minlength=len(days))
    return days * MINUTES_PER_DAY, minus, plus


def aligned_minutes(
    minutes: np.ndarray, values: np.ndarray, baseline: Baseline, step: int, config: DetectorConfig
) -> np.ndarray | None:
    """History minutes moved onto the phase of the most recent days; None if already there.

    The target is decided on the last few days together (one day, a weekend say, can be
    ambiguous against a blurred draft); days whose own phase is undecided are taken to follow
    the draft.
    """
    days, minus, plus = _day_evidence(minutes, values, baseline, step, config)
    recent = config.phase_fit_recent_days
    target = phase_decide(minus[-recent:].sum(), plus[-recent:].sum(), config)
    if target == PHASE_UNDECIDED:
        return None
    delta = phase_offsets(phase_decide(minus, plus, config), config) - phase_offsets(target, config)
    if not np.any(delta):
        return None
    day_index = np.searchsorted(days, minutes - np.mod(minutes, MINUTES_PER_DAY))
    return minutes + delta[day_index]
