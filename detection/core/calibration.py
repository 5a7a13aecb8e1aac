"""Per-series calibration of the alert decision: a false-alarm budget held on the series' own
history, whatever its noise looks like.

The tail probability p of the scoring model is exact only if the model is: real chatter (a
news story, a viral post) is burstier than any fitted negative binomial, so p = 1e-6 comes far
more often than once in a million minutes. Each series therefore keeps a running picture of
its own *surprise* s = -log10 p (of the strongest window that meets the excess floors) and
puts its alarm threshold where its own history says the budget is spent.

The picture is a peaks-over-threshold model (extreme value theory, as in SPOT, Siffer et al.
2017). Surprise is strongly autocorrelated (a burst lifts every window for a while), so it is
*declustered*: each run of buckets above a level u is one episode, worth its peak. Episode
peaks above u are close to exponential with a scale beta, so episodes reaching x come at

    rate_u * exp(-(x - u) / beta)   per bucket, for x >= u,

and the threshold for a budget of b alarms per bucket is u + beta * ln(rate_u / b). An
episode that reaches the threshold in force is an alarm. It does not count towards rate_u,
as SPOT leaves alarms out, so a series with an outage a week does not learn to expect one;
its peak, capped at the threshold, does count towards beta as a censored observation (the
tail reaches at least that far). Measured both ways on the real dev set, counting alarm
episodes in the rate as well scored the same (bench/README.md).
Decayed sums carry the estimate, shrunk towards a calibrated model's values until the series
has a history of its own; the threshold never drops below the model's own (p_outage):
calibration only makes a series harder to alarm on, never easier.
"""

from __future__ import annotations

import math

import numpy as np

from .config import DetectorConfig

LN10 = math.log(10.0)
MINUTES_PER_MONTH = 30 * 1440
# Columns of the state: decayed buckets, uncensored episodes, censored episodes, their summed
# excess over u; then the episode under way: 1 while above u, its peak, 1 if censored.
N, K, C, EXCESS, OPEN, PEAK, CENSORED = range(7)
WIDTH = 7


def initial(n: int) -> np.ndarray:
    return np.zeros((n, WIDTH))


def _budget(config: DetectorConfig, step_minutes: int) -> float:
    """Alarm episodes allowed per bucket (one per series per month, by default)."""
    return config.alarms_per_month * step_minutes / MINUTES_PER_MONTH


def _prior(config: DetectorConfig) -> tuple[float, float, float]:
    """(pseudo-buckets, pseudo-episodes, their excess) of a calibrated model.

    For a calibrated model one window's -log10 p exceeds u with probability 10**-u and its
    excess is exponential with scale 1/ln 10; the strongest of the overlapping windows
    starts an episode a few times as often (calibration_prior_windows).
    """
    rate = min(0.5, config.calibration_prior_windows * 10.0**-config.calibration_level)
    k0 = config.calibration_prior_episodes
    return k0 / rate, k0, k0 / LN10


def _tail(cal: np.ndarray, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """(episode rate per bucket at u, scale beta) of each series."""
    n0, k0, e0 = _prior(config)
    rate = (cal[:, K] + k0) / (cal[:, N] + n0)
    beta = (cal[:, EXCESS] + e0) / (cal[:, K] + k0)
    return rate, beta


def threshold(cal: np.ndarray, config: DetectorConfig, step_minutes: int) -> np.ndarray:
    """(n,) surprise (-log10 p) at which each series alarms now."""
    rate, beta = _tail(np.atleast_2d(cal), config)
    room = np.maximum(rate / _budget(config, step_minutes), 1.0)
    return np.maximum(config.calibration_level + beta * np.log(room), -math.log10(config.p_outage))


def exceedance(surprise: np.ndarray, cal: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """(n,) how often, per bucket, the series' own history reaches this surprise."""
    rate, beta = _tail(np.atleast_2d(cal), config)
    u = config.calibration_level
    s = np.asarray(surprise, dtype=np.float64)
    above = rate * np.exp(-(s - u) / beta)
    # Below u: between certainty (s = 0) and rate_u, log-linearly; only the order matters there.
    below = np.exp(np.log(rate) * np.clip(s / u, 0.0, 1.0))
    return np.where(s >= u, above, below)


def anomaly_score(
    surprise: np.ndarray, cal: np.ndarray, config: DetectorConfig, step_minutes: int
) -> np.ndarray:
    """(n,) in [0, 1): how surprising each bucket is for its series, comparable across series.

    z = -log10 of how often the series' own history reaches this surprise; the score
    z / (z + z_budget) is 0.5 where that is as rare as the alarm budget, and approaches 1 only
    for buckets far rarer: the ordinary bursts of a bursty series stay low.
    """
    z = -np.log10(np.maximum(exceedance(surprise, cal, config), 1e-300))
    z_budget = -math.log10(_budget(config, step_minutes))
    return z / (z + z_budget)


def update(
    cal: np.ndarray,
    surprise: np.ndarray,
    limit: np.ndarray,
    config: DetectorConfig,
    step_minutes: int,
    judged: np.ndarray | None = None,
) -> np.ndarray:
    """The calibration after one more bucket per series (unjudged buckets left out)."""
    cal = np.atleast_2d(cal)
    s = np.asarray(surprise, dtype=np.float64)
    use = np.ones(len(s), dtype=bool) if judged is None else np.asarray(judged, dtype=bool)
    u = config.calibration_level
    decay = math.exp(-step_minutes / (config.calibration_days * 1440.0))
    above = s > u
    was_open = cal[:, OPEN] > 0
    closing = use & was_open & ~above
    new = cal.copy()
    for col in (N, K, C, EXCESS):
        new[:, col] = np.where(use, cal[:, col] * decay, cal[:, col])
    new[:, N] += use
    new[:, K] += closing & (cal[:, CENSORED] == 0)
    new[:, C] += closing & (cal[:, CENSORED] > 0)
    new[:, EXCESS] += np.where(closing, cal[:, PEAK] - u, 0.0)
    grow = use & above
    peak = np.where(was_open, np.maximum(cal[:, PEAK], np.minimum(s, limit)), np.minimum(s, limit))
    new[:, OPEN] = np.where(use, grow, cal[:, OPEN])
    new[:, PEAK] = np.where(grow, peak, np.where(closing, 0.0, cal[:, PEAK]))
    censored = np.where(was_open, cal[:, CENSORED] > 0, False) | (s >= limit)
    new[:, CENSORED] = np.where(grow, censored, np.where(closing, 0.0, cal[:, CENSORED]))
    return new


def scan(
    cal: np.ndarray, surprise: np.ndarray, config: DetectorConfig, step_minutes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One series over consecutive buckets: threshold() then update() per bucket, exactly as
    the tick steps it (one code path; the offline detector runs this over every row). A
    surprise of +inf marks an unjudged bucket, left out as update(judged=False) does.

    Returns (threshold in force at each bucket, calibration before each bucket as (t, 7),
    calibration after the last).
    """
    state = np.asarray(cal, dtype=np.float64).reshape(1, WIDTH)
    values = np.asarray(surprise, dtype=np.float64)
    limits = np.empty(len(values))
    before = np.empty((len(values), WIDTH))
    for i in range(len(values)):
        before[i] = state[0]
        limit = threshold(state, config, step_minutes)
        limits[i] = limit[0]
        judged = np.isfinite(values[i : i + 1])
        state = update(state, values[i : i + 1], limit, config, step_minutes, judged)
    return limits, before, state[0]
