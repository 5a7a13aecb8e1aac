"""Negative-binomial overdispersion (var = mu + alpha * mu^2) from residuals."""

from __future__ import annotations

import numpy as np


def _moments_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    denom = float(np.sum(mu * mu))
    if denom <= 0:
        return 0.0
    return max(0.0, float(np.sum((y - mu) ** 2 - y)) / denom)


def _trimmed_alpha(y: np.ndarray, mu: np.ndarray, max_pearson: float) -> float:
    # Unlabelled incidents left in the history would inflate alpha and blunt detection;
    # drop extreme Pearson residuals once and re-estimate.
    alpha = _moments_alpha(y, mu)
    resid = (y - mu) / np.sqrt(mu + alpha * mu * mu + 1e-12)
    keep = np.abs(resid) <= max_pearson
    return _moments_alpha(y[keep], mu[keep])


def robust_alpha(y: np.ndarray, mu: np.ndarray, max_pearson: float = 6.0) -> float:
    """Moment alpha with outlying buckets dropped until none is left (_trimmed_alpha trims
    once, from an alpha the outliers already inflated: enough for a fit's residuals, where
    known outages are left out, not for raw history with thousands of extra reports in an
    hour)."""
    # From Poisson upwards: an alpha estimated with the outliers in would hide them.
    keep = np.zeros(len(y), dtype=bool)
    alpha = 0.0
    for _ in range(10):
        resid = (y - mu) / np.sqrt(mu + alpha * mu * mu + 1e-12)
        now = np.abs(resid) <= max_pearson
        if np.array_equal(now, keep):
            break
        keep = now
        alpha = _moments_alpha(y[keep], mu[keep])
    return alpha


def estimate_dispersion(
    y: np.ndarray,
    mu: np.ndarray,
    *,
    block: int = 10,
    max_pearson: float = 6.0,
    max_alpha: float = 3.0,
) -> tuple[float, float]:
    """(alpha, level_alpha): overdispersion of single buckets and its correlated part.

    Noise has two parts: per-bucket overdispersion that averages out over a k-bucket sum
    (contributes alpha_i * mu^2 / k) and baseline level error that does not (level_alpha *
    mu^2). Comparing the moment estimates on single buckets and on sums of `block` buckets
    separates them, so sums are neither over-trusted nor needlessly blunt:
    alpha_k = level_alpha + (alpha - level_alpha) / k.
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    if len(y) < 4 * block:
        return 0.0, 0.0
    alpha1 = min(_trimmed_alpha(y, mu, max_pearson), max_alpha)
    n = (len(y) // block) * block
    yb = y[:n].reshape(-1, block).sum(axis=1)
    mub = mu[:n].reshape(-1, block).sum(axis=1)
    alpha_b = min(_trimmed_alpha(yb, mub, max_pearson), max_alpha)
    independent = max(0.0, (alpha1 - alpha_b) * block / (block - 1))
    level = float(np.clip(alpha_b - independent / block, 0.0, alpha1))
    return float(max(alpha1, level)), level


# Below this NB alpha the log-likelihood is numerically Poisson.
_MIN_ALPHA = 1e-3


def nb_loglik(count: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """NB log-likelihood of counts, without the terms that do not depend on mu (for comparing
    means of the same counts)."""
    r = 1.0 / np.maximum(np.asarray(alpha, dtype=np.float64), _MIN_ALPHA)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-9)
    return np.asarray(count, dtype=np.float64) * np.log(mu / (r + mu)) - r * np.log1p(mu / r)


def window_alpha(alpha: np.ndarray, level_alpha: np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """Effective NB alpha of a sum of k buckets (see estimate_dispersion)."""
    return level_alpha + (alpha - level_alpha) / k
