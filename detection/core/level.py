"""Short-term level tracking: the ratio of recent traffic to the baseline.

The fitted profile knows the week's shape; the audience's level wanders by a few percent over
hours (news, weather, a TV show). An exponentially weighted ratio follows that wander, so at
high volume a few-percent level error is not mistaken for (or hiding) an outage. Observations
are clipped around the baseline so an outage or an ingestion gap barely moves the level, and
the factor is bounded: big level changes are the refit's job.

Cold start: a series on the prior baseline has no profile to take a ratio against, so the same
two numbers carry a different estimate (see cold_state): level_observed = exponentially
weighted count of reports since the series' first bucket, level_expected = MINUS the weighted
number of minutes watched since (cold_seeded: a service's quiet minutes before its first
report count too). The sign tells the two encodings apart, so a series that gets
its first fitted baseline starts warm tracking from scratch instead of misreading cold sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import lfilter

if TYPE_CHECKING:
    from .config import DetectorConfig


@dataclass(frozen=True)
class LevelConfig:
    """Settings of short-term level tracking (part of DetectorConfig; flat override names)."""

    # Time constant of the exponentially weighted observed/expected ratio. Tracking at all took
    # false alarms from 0.05 to 0.02 per series-week (bench/README.md, "History of the tuning"
    # 3); the two hours themselves were not varied. They also bound the longest sum a coarse
    # series is judged on (DetectorConfig.at_spacing).
    level_time_constant_minutes: float = 120.0
    # Bound of the factor, 1/bound below and bound above (big changes are the refit's job).
    # 1.15 instead: seed 3 one more outage and one more false alarm, seed 2 unchanged
    # (bench/README.md, 2026-11-27 morning, before the lagged level).
    level_max_factor: float = 1.25
    # Sums over at least this many buckets are judged against the level in force before their
    # first bucket: within an hour the tracker follows a slow outage by up to its bound (a
    # +40 % two-hour ramp hid behind a factor of 1.25), while the level an hour ago differs
    # from now by 1-2 % of wander. Shorter sums use the current level: at low volume it also
    # absorbs part of a stray bump, which the short windows would otherwise flag. Measured:
    # 60 against no lag, recall >= 30 0.942 -> 0.953 on seeds 1-4; against 1 (every window),
    # false alarms 0.100 / 0.087 on seeds 3 / 2 (bench/README.md, 2026-11-27 evening).
    level_lag_min_window: int = 60


# Pseudo-count (reports per minute) that keeps a quiet series' factor near 1: its counts are
# too noisy to track. Not varied; even with it a few reports move a low-volume series' factor
# by 20 % (bench/README.md, 2026-11-27 evening).
LEVEL_PSEUDO_COUNT = 0.5
# Observations are clipped to +-this many sd of the noise model (plus one report) before they
# are tracked, so outages and gaps barely move the level (bench/README.md, "History" 3).
_CLIP_SD = 2.0
# Cold start (cold_state): a brand-new series starts from this rate, small so that ordinary
# single reports stay quiet; it is also the flat profile of the prior baseline.
PRIOR_RATE_PER_MINUTE = 0.1
# A series on the prior is judged against a Gamma-Poisson estimate of its own recent level:
# time constant and prior weight (minutes at PRIOR_RATE_PER_MINUTE); the parameter
# uncertainty is added to COLD_DISPERSION, which covers the unknown drift of a first hour.
# Measured: 0 outages on 54 1.5-hour series; on 48 four-day series one false outage with 0.1,
# none on that series with 0.25 (bench/README.md, "Cold start").
COLD_TIME_CONSTANT_MINUTES = 30.0
COLD_PRIOR_MINUTES = 0.25
COLD_DISPERSION = 0.25


def _clipped(
    observed: np.ndarray, expected: np.ndarray, dispersion: np.ndarray | float
) -> np.ndarray:
    # +-2 sd of the noise model: a level drift passes almost untouched, an outage moves the
    # level by at most 2 sd per bucket, i.e. a few percent over a typical outage at high
    # volume. The sd must include the overdispersion: a Poisson band on NB noise clips the
    # low side of a level 10 % below the profile as often as the high side, pulling the
    # estimate back to 1 and leaving the expectation high (bench/README.md).
    band = _CLIP_SD * np.sqrt(expected + dispersion * expected**2) + 1.0
    used = np.clip(observed, expected - band, expected + band)
    # A zero where several reports were due is missing data (a gap), not a low level.
    return np.where((observed == 0) & (expected >= 2.0), expected, used)


def decay(config: DetectorConfig, step_minutes: int = 1) -> float:
    return float(np.exp(-step_minutes / config.level.level_time_constant_minutes))


def _warm(level_observed: np.ndarray, level_expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warm tracking sums; cold-encoded (negative expected) sums count as nothing tracked."""
    lo = np.asarray(level_observed, dtype=np.float64)
    le = np.asarray(level_expected, dtype=np.float64)
    cold = le < 0
    return np.where(cold, 0.0, lo), np.where(cold, 0.0, le)


def level_factor(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
) -> np.ndarray:
    """Multiplier for the baseline from the tracked sums (1 when nothing is tracked yet)."""
    # The pseudo-count keeps a quiet series' factor near 1: its counts are too noisy to track.
    pseudo = LEVEL_PSEUDO_COUNT * step_minutes
    lo, le = _warm(level_observed, level_expected)
    factor = (lo + pseudo) / (le + pseudo)
    bound = config.level.level_max_factor
    return np.clip(factor, 1.0 / bound, bound)


def level_update(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
    dispersion: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the newest bucket (observed, plain baseline expected) into the tracked sums.

    dispersion: the baseline's per-bucket NB alpha (sets the clipping band).
    """
    lam = decay(config, step_minutes)
    used = _clipped(
        np.asarray(observed, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        np.asarray(dispersion, dtype=np.float64),
    )
    lo, le = _warm(level_observed, level_expected)
    return (
        lam * lo + (1 - lam) * used,
        lam * le + (1 - lam) * np.asarray(expected),
    )


def level_track(
    observed: np.ndarray,
    expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
    initial: tuple[float, float] = (0.0, 0.0),
    dispersion: float = 0.0,
) -> tuple[np.ndarray, tuple[float, float]]:
    """level_update over a whole series at once (identical numbers, via a linear filter).

    Returns the factor in force at each row (from rows before it) and the final sums.
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if len(observed) == 0:
        return np.zeros(0), initial
    lam = decay(config, step_minutes)
    if initial[1] < 0:  # cold-encoded sums: warm tracking starts from nothing
        initial = (0.0, 0.0)
    b, a = [1 - lam], [1.0, -lam]
    used = _clipped(observed, expected, np.float64(dispersion))
    obs_sums, _ = lfilter(b, a, used, zi=[lam * initial[0]])
    exp_sums, _ = lfilter(b, a, expected, zi=[lam * initial[1]])
    before_o = np.concatenate(([initial[0]], obs_sums[:-1]))
    before_e = np.concatenate(([initial[1]], exp_sums[:-1]))
    factors = level_factor(before_o, before_e, config, step_minutes)
    return factors, (float(obs_sums[-1]), float(exp_sums[-1]))


def history_length(config: DetectorConfig) -> int:
    """How many past factors a series keeps: enough for the longest window's lag."""
    return max(config.scoring.windows) - 1


def history_padded(history: np.ndarray, length: int) -> np.ndarray:
    """(n, length) past factors, oldest first: the newest `length` of (n, h) `history`, and
    NaN (unknown) before what was stored."""
    history = np.asarray(history, dtype=np.float64)
    n, h = history.shape
    if h == length:  # already padded (the tick pads once for both uses)
        return history
    have = min(h, length)
    out = np.full((n, length), np.nan)
    if have:
        out[:, length - have :] = history[:, h - have :]
    return out


def window_factors(history: np.ndarray, factor: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """(n, len(windows)) level factor each window's expected sum is scaled by.

    history: (n, h) factors in force at the previous ticks, oldest first (NaN or missing:
    unknown); factor: (n,) the factor in force now. A sum over k >= level_lag_min_window
    buckets takes the factor from k - 1 ticks ago, the level before its first bucket; shorter
    sums, and sums reaching back before what is known, take the current one.
    """
    factor = np.asarray(factor, dtype=np.float64)
    past = history_padded(history, history_length(config))
    full = np.concatenate((past, factor[:, None]), axis=1)
    windows = np.asarray(config.scoring.windows)
    lag = np.where(windows >= config.level.level_lag_min_window, windows - 1, 0)
    picked = full[:, full.shape[1] - 1 - lag]
    return np.where(np.isnan(picked), factor[:, None], picked)


def history_push(history: np.ndarray, factor: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """The history after a tick in which `factor` was in force (oldest dropped)."""
    factor = np.asarray(factor, dtype=np.float64)
    past = history_padded(history, history_length(config))
    return np.concatenate((past, factor[:, None]), axis=1)[:, 1:]


@dataclass(frozen=True, eq=False)
class ColdLevel:
    """A cold series' own level, judged against instead of the flat prior."""

    rate: np.ndarray  # (n,) expected reports per minute
    dispersion: np.ndarray  # (n,) NB alpha: level uncertainty 1/(reports + prior) + drift
    # (n,) bool: the series was watched before this bucket (its sums have begun: a report, a
    # row of a file, or the quiet minutes of a service nobody reported yet, cold_seeded);
    # a bucket with nothing before it is not judged.
    has_data: np.ndarray


def cold_state(level_observed: np.ndarray, level_expected: np.ndarray) -> ColdLevel:
    """Gamma-Poisson estimate of a cold series' rate from its cold-encoded sums.

    Rate posterior Gamma(reports + a, minutes + b) with b = COLD_PRIOR_MINUTES and a = b x the
    prior rate: with no data it is the prior; after one minute of traffic it is mostly that
    minute, and the predictive count of a k-minute sum is NB with alpha = 1 / (reports + a).
    """
    lo = np.asarray(level_observed, dtype=np.float64)
    le = np.asarray(level_expected, dtype=np.float64)
    cold = le < 0
    reports = np.where(cold, lo, 0.0)
    minutes = np.where(cold, -le, 0.0)
    b = COLD_PRIOR_MINUTES
    a = b * PRIOR_RATE_PER_MINUTE
    return ColdLevel(
        rate=(reports + a) / (minutes + b),
        dispersion=1.0 / (reports + a) + COLD_DISPERSION,
        has_data=minutes > 0,
    )


def cold_seeded(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    quiet_minutes: np.ndarray,
    cold: np.ndarray,
    step_minutes: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Cold sums that have not begun, begun with `quiet_minutes` of empty buckets.

    A service watched for a day that nobody reported has a rate near zero, and its first
    reports are news: people look a service up when it fails, so its first reports are often
    its first outage. Before, its sums began at its first bucket, which was not judged and
    became the level: 200 reports in a first minute set the expectation at 160. The quiet
    minutes are folded in as cold_update would fold that many empty buckets (the sums forget
    with COLD_TIME_CONSTANT_MINUTES, so a day counts as about half an hour).
    """
    lo = np.asarray(level_observed, dtype=np.float64)
    le = np.asarray(level_expected, dtype=np.float64)
    buckets = np.floor(np.maximum(np.asarray(quiet_minutes, dtype=np.float64), 0.0) / step_minutes)
    lam = float(np.exp(-step_minutes / COLD_TIME_CONSTANT_MINUTES))
    minutes = step_minutes * (1.0 - lam**buckets) / (1.0 - lam)
    begin = np.asarray(cold, dtype=bool) & (lo == 0) & (le == 0) & (buckets > 0)
    return lo, np.where(begin, -minutes, le)


def cold_update(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    observed: np.ndarray,
    step_minutes: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the newest bucket into a cold series' sums: every bucket from the series' first,
    empty ones too (a watched minute without a report is evidence of a low rate).

    A bucket far above the current estimate (an outage on a new service) is clipped to
    +3 predictive sd, so it is absorbed only slowly; the very first buckets barely are, because
    the predictive sd is still wide. The first bucket of all has nothing to be judged or
    clipped against, and becomes the level as it is.
    """
    observed = np.asarray(observed, dtype=np.float64)
    est = cold_state(level_observed, level_expected)
    lo = np.asarray(level_observed, dtype=np.float64)
    le = np.asarray(level_expected, dtype=np.float64)
    reports = np.where(le < 0, lo, 0.0)
    minutes = np.where(le < 0, -le, 0.0)
    mu = est.rate * step_minutes
    cap = mu + 3.0 * np.sqrt(mu + est.dispersion * mu * mu) + 2.0
    used = np.where(est.has_data, np.minimum(observed, cap), observed)
    lam = float(np.exp(-step_minutes / COLD_TIME_CONSTANT_MINUTES))
    return lam * reports + used, -(lam * minutes + step_minutes)


def cold_track(
    observed: np.ndarray,
    step_minutes: int = 1,
    initial: tuple[float, float] = (0.0, 0.0),
) -> tuple[ColdLevel, tuple[float, float]]:
    """cold_update over consecutive buckets; the estimate in force at each row, final sums."""
    observed = np.asarray(observed, dtype=np.float64)
    lo, le = np.array([initial[0]]), np.array([initial[1]])
    rates = np.zeros(len(observed))
    alphas = np.zeros(len(observed))
    has = np.zeros(len(observed), dtype=bool)
    for i, v in enumerate(observed):
        est = cold_state(lo, le)
        rates[i], alphas[i], has[i] = est.rate[0], est.dispersion[0], est.has_data[0]
        lo, le = cold_update(lo, le, np.array([v]), step_minutes)
    return ColdLevel(rates, alphas, has), (float(lo[0]), float(le[0]))
