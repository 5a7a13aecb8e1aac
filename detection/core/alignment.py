"""Daylight saving in the history: fit the profile on days aligned to the current phase.

Four weeks of history that straddle a clock change hold two daily patterns an hour apart; a
model fitted on both learns a blurred curve that fits neither (too high before the morning
rise, too low after it), for four weeks after every change. So the fit looks for the clock
change in its history, moves the days before it onto the phase of the days after it and fits
on that. The final profile then matches today's pattern at phase zero (Baseline.phase_moved
tells the tick so).

The search is a change-point model on daily time-of-day profiles (15-minute slots, one for
weekdays and one for weekends, each history day scaled to its own volume): for every day the
change could have happened on and either direction, the days before it are moved by the shift,
the profiles are recomputed from the aligned days and the whole history is scored by its
negative-binomial log-likelihood. The best change must beat "no change" by
PHASE_FIT_SWITCH_COST. A clock changes once in four weeks, so one change point is the whole
model, and a lone odd day cannot win. Classifying days one by one did not work: against a
blurred draft the days on both sides look half an hour off, i.e. undecided, and against a
weekly model each weekday leans to whichever phase most of its four samples had.
"""

from __future__ import annotations

import numpy as np

from .dispersion import nb_loglik, robust_alpha
from .phase import PHASE_SHIFT_MINUTES
from .timegrid import MINUTES_PER_DAY, SLOT_MINUTES

# The best change point must beat "no change" by this much log-likelihood (natural log units):
# one noisy day does not move the history, a run of days does. With 20, six simulated series
# scanned day by day over six weeks moved only after a real change, 1-5 days after it
# (bench/README.md, 2026-11-27 morning item 1).
PHASE_FIT_SWITCH_COST = 20.0
_SLOTS = MINUTES_PER_DAY // SLOT_MINUTES
_CAP_ROUNDS = 6
_MIN_DAYS_AFTER = 2


def _day_slots(
    minutes: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UTC days (first minute), (days, slots) sums and bucket counts, and a weekend flag."""
    day_start = minutes - np.mod(minutes, MINUTES_PER_DAY)
    days, day = np.unique(day_start, return_inverse=True)
    cell = day * _SLOTS + np.mod(minutes, MINUTES_PER_DAY) // SLOT_MINUTES
    size = len(days) * _SLOTS
    sums = np.bincount(cell, weights=values, minlength=size).reshape(-1, _SLOTS)
    counts = np.bincount(cell, minlength=size).reshape(-1, _SLOTS).astype(np.float64)
    weekend = np.mod(days // MINUTES_PER_DAY + 3, 7) >= 5  # epoch day 0 was a Thursday
    return days, sums, counts, weekend


def _loglik(
    sums: np.ndarray,
    counts: np.ndarray,
    weekend: np.ndarray,
    pre: np.ndarray,
    slots: int,
    alpha: float | None,
) -> tuple[np.ndarray, float]:
    """Log-likelihood of the history for each candidate (rows of `pre`: days moved by `slots`).

    Returns (candidates,) log-likelihoods and the alpha used (estimated on the first candidate
    when None).
    """
    # (candidates, days, slots): each day's sums and counts in aligned coordinates.
    moved_s = np.where(pre[:, :, None], np.roll(sums, slots, axis=1)[None], sums[None])
    moved_c = np.where(pre[:, :, None], np.roll(counts, slots, axis=1)[None], counts[None])
    profiles = []
    for cls in (~weekend, weekend):
        total = moved_s[:, cls].sum(axis=1)
        seen = moved_c[:, cls].sum(axis=1)
        overall = total.sum(axis=1, keepdims=True) / np.maximum(seen.sum(axis=1, keepdims=True), 1)
        profiles.append(np.where(seen > 0, total / np.maximum(seen, 1), overall))
    profile = np.where(weekend[None, :, None], profiles[1][:, None], profiles[0][:, None])
    shape = profile * moved_c
    shape_total = np.maximum(shape.sum(axis=2, keepdims=True), 1e-9)
    scale = moved_s.sum(axis=2, keepdims=True) / shape_total
    # An outage left in the history (thousands of extra reports in an hour) would scale its
    # whole day up and dominate the likelihood. The day's scale is estimated from slots capped
    # a little above their expectation (10 % and 3 Poisson sd); the likelihood sees slots
    # capped at twice it (a tighter cap there cut ordinary noise at high volume and made the
    # profile's misfit look like a clock change).
    for _ in range(_CAP_ROUNDS):
        expected = shape * scale
        capped = np.minimum(moved_s, 1.1 * expected + 3.0 * np.sqrt(expected) + 2.0)
        scale = capped.sum(axis=2, keepdims=True) / shape_total
    mu = np.maximum(shape * scale, 1e-9)
    moved_s = np.minimum(moved_s, 2.0 * mu + 10.0)
    if alpha is None:
        alpha = robust_alpha(moved_s[0].ravel(), mu[0].ravel())
    return nb_loglik(moved_s, mu, alpha).sum(axis=(1, 2)), alpha


def aligned_minutes(minutes: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """History minutes with the days before a clock change moved onto the current phase; None
    when the history shows no change."""
    minutes = np.asarray(minutes, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    days, sums, counts, weekend = _day_slots(minutes, values)
    n = len(days)
    # Candidate c: days 0..c-1 are before the change. At least two days after it: a single
    # odd last day (an outage the detector missed, say) would otherwise move the history.
    if n < 1 + _MIN_DAYS_AFTER:
        return None
    none = np.zeros((1, n), dtype=bool)
    base, alpha = _loglik(sums, counts, weekend, none, 0, None)
    pre = np.arange(n)[None, :] < np.arange(1, n - _MIN_DAYS_AFTER + 1)[:, None]
    best_gain, best = 0.0, None
    shift = PHASE_SHIFT_MINUTES
    for moved in (-shift, shift):
        ll, _ = _loglik(sums, counts, weekend, pre, moved // SLOT_MINUTES, alpha)
        c = int(np.argmax(ll))
        if ll[c] - base[0] > best_gain:
            best_gain, best = float(ll[c] - base[0]), (c + 1, moved)
    if best is None or best_gain < PHASE_FIT_SWITCH_COST:
        return None
    change_day, moved = best
    before = minutes < days[change_day]
    return np.where(before, minutes + moved, minutes)
