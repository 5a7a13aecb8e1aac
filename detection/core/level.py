"""Short-term level tracking: the ratio of recent traffic to the baseline.

The fitted profile knows the week's shape; the audience's level wanders by a few percent over
hours (news, weather, a TV show). An exponentially weighted ratio follows that wander, so at
high volume a few-percent level error is not mistaken for (or hiding) an outage. Observations
are clipped around the baseline so an outage or an ingestion gap barely moves the level, and
the factor is bounded: big level changes are the refit's job.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .config import DetectorConfig


def _clipped(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    # +-2 Poisson sd: a level drift passes almost untouched, an outage moves the level by at
    # most 2 sd per bucket, i.e. a few percent over a typical outage at high volume.
    band = 2.0 * np.sqrt(expected) + 1.0
    used = np.clip(observed, expected - band, expected + band)
    # A zero where several reports were due is missing data (a gap), not a low level.
    return np.where((observed == 0) & (expected >= 2.0), expected, used)


def decay(config: DetectorConfig, step_minutes: int = 1) -> float:
    return float(np.exp(-step_minutes / config.level_time_constant_minutes))


def level_factor(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
) -> np.ndarray:
    """Multiplier for the baseline from the tracked sums (1 when nothing is tracked yet)."""
    # The pseudo-count keeps a quiet series' factor near 1: its counts are too noisy to track.
    pseudo = config.level_pseudo_count * step_minutes
    factor = (np.asarray(level_observed) + pseudo) / (np.asarray(level_expected) + pseudo)
    return np.clip(factor, config.level_min_factor, config.level_max_factor)


def level_update(
    level_observed: np.ndarray,
    level_expected: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold the newest bucket (observed, plain baseline expected) into the tracked sums."""
    lam = decay(config, step_minutes)
    used = _clipped(np.asarray(observed, dtype=np.float64), np.asarray(expected, dtype=np.float64))
    return (
        lam * np.asarray(level_observed) + (1 - lam) * used,
        lam * np.asarray(level_expected) + (1 - lam) * np.asarray(expected),
    )


def level_track(
    observed: np.ndarray,
    expected: np.ndarray,
    config: DetectorConfig,
    step_minutes: int = 1,
    initial: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, tuple[float, float]]:
    """level_update over a whole series at once (identical numbers, via a linear filter).

    Returns the factor in force at each row (from rows before it) and the final sums.
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if len(observed) == 0:
        return np.zeros(0), initial
    lam = decay(config, step_minutes)
    b, a = [1 - lam], [1.0, -lam]
    obs_sums, _ = lfilter(b, a, _clipped(observed, expected), zi=[lam * initial[0]])
    exp_sums, _ = lfilter(b, a, expected, zi=[lam * initial[1]])
    before_o = np.concatenate(([initial[0]], obs_sums[:-1]))
    before_e = np.concatenate(([initial[1]], exp_sums[:-1]))
    factors = level_factor(before_o, before_e, config, step_minutes)
    return factors, (float(obs_sums[-1]), float(exp_sums[-1]))
