"""Fit a Baseline on a series' past (strictly before `fitted_at`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from .alignment import aligned_minutes
from .baseline import MAX_EXTRAPOLATION_DAYS, Baseline
from .clock import Clock
from .dispersion import estimate_dispersion
from .gaps import gap_mask
from .level import PRIOR_RATE_PER_MINUTE, level_track
from .phase import PHASE_SHIFT_MINUTES
from .recurrence import recurring
from .timegrid import MINUTES_PER_DAY, SLOT_MINUTES, SLOTS_PER_WEEK, minute_of_week

if TYPE_CHECKING:
    from .config import DetectorConfig


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of the baseline fit (part of DetectorConfig; flat override names)."""

    # Days of history a fit sees. Six months, like Downdetector, would follow growth too
    # slowly; four weeks hold four samples of every weekday. Not measured against other
    # values. The minute buckets must outlive it (BUCKET_RETENTION_DAYS, 35 by default).
    history_days: int = 28


# The boosted fit sees 15-minute bins (one profile slot) once the history spans two weeks,
# hourly ones before: hourly bins made a staircase up to 20 % off on slopes, and fine bins on a
# few days are noise (a 2.5-week series at 80/min had 5 false alarms on its first weekend).
# Seed 1 false alarms 0.106 -> 0.050 at equal recall (bench/README.md, 2026-11-26 item 3).
FIT_BIN_MINUTES = SLOT_MINUTES
FIT_BIN_MINUTES_YOUNG = 60
FIT_FINE_MIN_HISTORY_DAYS = 14.0
# Below three days of usable history the boosted model overfits: a "mean" profile (hour of
# day) stands in; below an hour there is nothing to average, and the prior stands in
# (bench/README.md, "Cold start").
HGB_MIN_HISTORY_MINUTES = 3 * MINUTES_PER_DAY
MEAN_MIN_HISTORY_MINUTES = 60
# HistGradientBoostingRegressor: small and regularised, no early stopping (deterministic);
# tens of milliseconds on 2,688 bins. Not tuned.
_HGB_PARAMS = {"max_iter": 80, "learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 20}
# NB dispersion of the prior (nothing is known), the floor of a "mean" baseline's (with a day
# of history the shape is uncertain) and the ceiling of any fitted one. Not varied.
PRIOR_DISPERSION = 1.0
MEAN_MIN_DISPERSION = 0.1
MAX_DISPERSION = 3.0
# Weekly growth is estimated from whole days and clipped so a bad week cannot explode it.
MAX_GROWTH_PER_DAY = 0.03
# Known-outage rows are left out of the fit unless they are more than this share of the
# window: then the "outage" is the new normal (or a cold start) and must be learned.
MAX_EXCLUDED_FRACTION = 0.25

# Expected counts are never exactly zero: a zero mean makes every single report "impossible".
_MIN_RATE = 0.002
# Recent-level correction looks at this many days and is bounded, so one odd day can't swing it.
_LEVEL_DAYS = 3
_LEVEL_BOUNDS = (0.5, 2.0)
# Pseudo-count (reports) shrinking the level correction towards 1 on thin data.
_LEVEL_SHRINK = 20.0


def prior_baseline(fitted_at: int, *, step_minutes: int = 1) -> Baseline:
    """Baseline for a series with no usable history."""
    return Baseline(
        profile=np.full(SLOTS_PER_WEEK, PRIOR_RATE_PER_MINUTE),
        dispersion=PRIOR_DISPERSION,
        level_dispersion=PRIOR_DISPERSION,
        fitted_at=int(fitted_at),
        history_minutes=0,
        method="prior",
        step_minutes=step_minutes,
        max_extrapolation_days=MAX_EXTRAPOLATION_DAYS,
    )


def _features(mow: np.ndarray) -> np.ndarray:
    """Time of day (cyclic), day of week and hour of week for minute-of-week positions."""
    tod = np.mod(mow, MINUTES_PER_DAY) / MINUTES_PER_DAY
    return np.column_stack(
        (
            np.sin(2 * np.pi * tod),
            np.cos(2 * np.pi * tod),
            mow // MINUTES_PER_DAY,
            mow // 60,
        )
    )


def _slot_centres() -> np.ndarray:
    return np.arange(SLOTS_PER_WEEK) * SLOT_MINUTES + SLOT_MINUTES / 2


def _bin_sums(
    minutes: np.ndarray, values: np.ndarray, step: int, bin_minutes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin: start minute, sum of counts, covered minutes."""
    starts = minutes - np.mod(minutes, bin_minutes)
    uniq, inv = np.unique(starts, return_inverse=True)
    sums = np.bincount(inv, weights=values.astype(np.float64), minlength=len(uniq))
    cover = np.bincount(inv, minlength=len(uniq)).astype(np.float64) * step
    return uniq, sums, cover


def _growth_per_day(minutes: np.ndarray, values: np.ndarray, step: int, fitted_at: int) -> float:
    """Log-linear daily trend with day-of-week dummies (so weekends don't read as decline)."""
    days, sums, cover = _bin_sums(minutes, values, step, MINUTES_PER_DAY)
    keep = cover >= 0.5 * MINUTES_PER_DAY
    if keep.sum() < 10:
        return 0.0
    days, sums, cover = days[keep], sums[keep], cover[keep]
    rate = (sums + 0.5) / cover
    t = (days - fitted_at) / MINUTES_PER_DAY
    dow = (minute_of_week(days) // MINUTES_PER_DAY).astype(np.int64)
    design = np.column_stack((t, np.eye(7)[dow]))
    w = np.sqrt(np.minimum(sums + 1.0, 1e4))  # Poisson-ish weighting of log rates
    coef, *_ = np.linalg.lstsq(design * w[:, None], np.log(rate) * w, rcond=None)
    return float(np.clip(coef[0], -MAX_GROWTH_PER_DAY, MAX_GROWTH_PER_DAY))


def _hgb_profile(
    minutes: np.ndarray,
    values: np.ndarray,
    step: int,
    fitted_at: int,
    growth: float,
) -> np.ndarray:
    # Hourly bins while the history is short (a 15-minute bin seen on a few days is noise),
    # 15-minute bins once it is long enough: hourly ones make a staircase that is up to 20 %
    # off on the steep parts of the day, as if the daily pattern were shifted.
    span = (minutes[-1] - minutes[0]) / MINUTES_PER_DAY if len(minutes) else 0.0
    fine = span >= FIT_FINE_MIN_HISTORY_DAYS
    bin_minutes = max(FIT_BIN_MINUTES if fine else FIT_BIN_MINUTES_YOUNG, step)
    starts, sums, cover = _bin_sums(minutes, values, step, bin_minutes)
    keep = cover >= 0.5 * bin_minutes
    starts, sums, cover = starts[keep], sums[keep], cover[keep]
    if not sums.any():
        # No report in the whole history (a little-reported service, or one whose only
        # reports were an outage the fit leaves out): the rate is as low as it can be, and the
        # Poisson fit refuses a target that sums to 0.
        return np.full(len(_slot_centres()), _MIN_RATE)
    centres = starts + bin_minutes / 2
    detrend = np.exp(-growth * (centres - fitted_at) / MINUTES_PER_DAY)
    model = HistGradientBoostingRegressor(
        loss="poisson", early_stopping=False, random_state=0, **_HGB_PARAMS
    )
    # A few hundred rows: OpenMP threads only add overhead, and under CPU contention (a busy
    # Celery host) spinning worker threads made one fit take seconds instead of milliseconds.
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(_features(minute_of_week(centres)), sums / cover * detrend, sample_weight=cover)
        predicted = model.predict(_features(_slot_centres()))
    return np.maximum(predicted, _MIN_RATE)


def _mean_profile(minutes: np.ndarray, values: np.ndarray, step: int) -> np.ndarray:
    """Hour-of-day means, each shrunk towards its neighbours: a day of data already shows the peak.

    Hours not seen yet (a series younger than a day) take the value interpolated between the
    nearest seen hours on the daily circle, not the overall mean: on its first afternoon a
    series that started at night would otherwise be judged against its night-time average.
    """
    hour = (np.mod(minutes, MINUTES_PER_DAY) // 60).astype(np.int64)
    sums = np.bincount(hour, weights=values.astype(np.float64), minlength=24)
    cover = np.bincount(hour, minlength=24).astype(np.float64) * step
    seen = np.flatnonzero(cover > 0)
    raw = sums[seen] / cover[seen]
    # Neighbour value of each hour: circular interpolation between the OTHER seen hours.
    target = np.empty(24)
    for h in range(24):
        others = seen != h
        if not others.any():
            target[h] = raw.mean()
            continue
        xs, ys = seen[others], raw[others]
        target[h] = np.interp(h, np.concatenate((xs - 24, xs, xs + 24)), np.tile(ys, 3))
    prior_minutes = 60.0
    hourly = (sums + prior_minutes * target) / (cover + prior_minutes)
    slot_hour = ((_slot_centres() % MINUTES_PER_DAY) // 60).astype(np.int64)
    return np.maximum(hourly[slot_hour], _MIN_RATE)


def _level_factor(baseline: Baseline, minutes: np.ndarray, values: np.ndarray, step: int) -> float:
    recent = minutes >= baseline.fitted_at - _LEVEL_DAYS * MINUTES_PER_DAY
    if not recent.any():
        return 1.0
    predicted = float(baseline.expected(minutes[recent], step).sum())
    actual = float(values[recent].sum())
    factor = (actual + _LEVEL_SHRINK) / (predicted + _LEVEL_SHRINK)
    return float(np.clip(factor, *_LEVEL_BOUNDS))


def fit_baseline(
    minutes: np.ndarray,
    values: np.ndarray,
    *,
    fitted_at: int,
    step_minutes: int = 1,
    exclude: np.ndarray | None = None,
    config: DetectorConfig | None = None,
    clock: Clock | None = None,
) -> Baseline:
    """Fit on rows whose bucket ended at or before `fitted_at` (causal).

    exclude: rows to leave out (known outages), except those of an hour of the week that was
    also flagged the week before or after (recurrence.py). Ingestion gaps are left out too.
    clock: the series' local clock when its zone is known (clock.py).
    """
    if config is None:
        from .config import DetectorConfig  # config.py imports this module

        config = DetectorConfig()
    minutes = np.asarray(minutes, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    start = fitted_at - config.baseline.history_days * MINUTES_PER_DAY
    window = (minutes + step_minutes <= fitted_at) & (minutes >= start)
    usable = window.copy()
    learned = np.zeros(len(minutes), dtype=bool)
    if exclude is not None:
        excluded = window & np.asarray(exclude, dtype=bool)
        if excluded.sum() <= MAX_EXCLUDED_FRACTION * max(window.sum(), 1):
            # A recurring excess is learned by the profile, but it is no evidence of how noisy
            # the series is: left out of the dispersion, as the outages it resembles are.
            learned = recurring(minutes, excluded)
            usable &= ~(excluded & ~learned)
    m, v, ok = minutes[window], values[window], usable[window]
    ok &= ~gap_mask(m, v, step_minutes, usable=ok)
    noise = ~learned[window][ok]
    m, v = m[ok], v[ok]
    history = int(len(m) * step_minutes)
    if history < MEAN_MIN_HISTORY_MINUTES:
        return prior_baseline(fitted_at, step_minutes=step_minutes)

    common: dict[str, Any] = {
        "fitted_at": int(fitted_at),
        "history_minutes": history,
        "step_minutes": step_minutes,
        "max_extrapolation_days": MAX_EXTRAPOLATION_DAYS,
    }
    if history < HGB_MIN_HISTORY_MINUTES:
        draft = Baseline(
            profile=_mean_profile(m, v, step_minutes), dispersion=0.0, method="mean", **common
        )
        return _with_dispersion(draft, m, v, config, noise, MEAN_MIN_DISPERSION)
    # Buckets longer than the shift cannot be moved by it.
    if step_minutes > PHASE_SHIFT_MINUTES:
        return _with_dispersion(_hgb_draft(m, v, common), m, v, config, noise)
    if clock is not None:
        # A known clock: every minute moves onto the offset in force at the fit, exactly
        # where the clock changed, and nothing moves without a change. (A young series' mean
        # profile above is not moved: its phase comes from the evidence, as without a clock.)
        offset = int(clock.at(fitted_at))
        moves = clock.at(m) - offset
        aligned = m + moves if moves.any() else None
        common["utc_offset"] = offset
    else:
        # A clock change in the history: fit on days moved onto the current phase, found
        # from the counts (alignment.py).
        aligned = aligned_minutes(m, v)
    if aligned is None:
        return _with_dispersion(_hgb_draft(m, v, common), m, v, config, noise)
    draft = _hgb_draft(aligned, v, common)
    return replace(_with_dispersion(draft, aligned, v, config, noise), phase_moved=True)


def _hgb_draft(m: np.ndarray, v: np.ndarray, common: dict[str, Any]) -> Baseline:
    step, fitted_at = common["step_minutes"], common["fitted_at"]
    growth = _growth_per_day(m, v, step, fitted_at)
    profile = _hgb_profile(m, v, step, fitted_at, growth)
    draft = Baseline(profile=profile, dispersion=0.0, method="hgb", growth_per_day=growth, **common)
    level = _level_factor(draft, m, v, step)
    return replace(draft, profile=profile * level)


def _with_dispersion(
    draft: Baseline,
    m: np.ndarray,
    v: np.ndarray,
    config: DetectorConfig,
    noise: np.ndarray,
    floor: float = 0.0,
) -> Baseline:
    """noise: the rows whose spread around the fit is the series' noise."""
    # Judge the noise the way scoring will see it: after short-term level tracking.
    step = draft.step_minutes
    plain = draft.expected(m, step)
    alpha = 0.0
    # Twice: the tracking's clipping band depends on the dispersion being estimated.
    for _ in range(2):
        factors, _ = level_track(v, plain, config, step, dispersion=alpha)
        alpha, level_alpha = estimate_dispersion(
            v[noise], (plain * factors)[noise], max_alpha=MAX_DISPERSION
        )
    return replace(draft, dispersion=max(alpha, floor), level_dispersion=max(level_alpha, floor))
