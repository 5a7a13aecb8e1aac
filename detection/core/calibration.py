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
from dataclasses import dataclass

import numpy as np

from .config import DetectorConfig

LN10 = math.log(10.0)
MINUTES_PER_MONTH = 30 * 1440
# Columns of the state: decayed buckets, uncensored episodes, censored episodes, the summed
# excess of episode peaks over u and its square; then the episode under way: 1 while above u,
# its peak, 1 if censored.
N, K, C, EXCESS, SQUARES, OPEN, PEAK, CENSORED = range(8)
WIDTH = 8
# Keeps the GPD formulas off their shape -> 0 singularity, where they equal the exponential.
_EXPONENTIAL = 1e-6


def initial(n: int) -> np.ndarray:
    return np.zeros((n, WIDTH))


@dataclass(frozen=True)
class Params:
    """What one calibration step needs, computed once per config and bucket spacing."""

    u: float
    floor: float  # the model's own threshold, -log10 p_outage
    budget: float  # alarm episodes allowed per bucket
    decay: float  # weight of the past after one bucket
    n0: float  # pseudo-buckets, pseudo-episodes, their excess and its square of the prior:
    k0: float  # a calibrated model (one window's -log10 p exceeds u with probability 10**-u,
    e0: float  # exponential with scale 1/ln 10; the strongest of the overlapping windows
    q0: float  # starts an episode calibration_prior_windows times as often)
    max_shape: float  # the heaviest tail shape believed (config.calibration_max_shape)

    @classmethod
    def of(cls, config: DetectorConfig, step_minutes: int) -> Params:
        u = config.calibration_level
        rate = min(0.5, config.calibration_prior_windows * 10.0**-u)
        k0 = config.calibration_prior_episodes
        scale = 1.0 / LN10
        return cls(
            u=u,
            floor=-math.log10(config.p_outage),
            budget=config.alarms_per_month * step_minutes / MINUTES_PER_MONTH,
            decay=math.exp(-step_minutes / (config.calibration_days * 1440.0)),
            n0=k0 / rate,
            k0=k0,
            e0=k0 * scale,
            q0=k0 * 2.0 * scale**2,
            max_shape=config.calibration_max_shape,
        )


def _tail(cal, p: Params) -> tuple[float, float, float]:
    """(episode rate per bucket at u, GPD scale, GPD shape) of one series.

    Episode peaks above u follow a generalised Pareto distribution; its shape and scale come
    from the mean and variance of the excesses (method of moments): an exponential tail
    (shape 0) for a calibrated model, heavier for bursty chatter.
    """
    episodes = cal[K] + p.k0
    rate = episodes / (cal[N] + p.n0)
    mean = (cal[EXCESS] + p.e0) / episodes
    var = max((cal[SQUARES] + p.q0) / episodes - mean * mean, 1e-12)
    shape = min(max(0.5 * (1.0 - mean * mean / var), 0.0), p.max_shape)
    return rate, mean * (1.0 - shape), shape


def _limit(rate: float, scale: float, shape: float, p: Params) -> float:
    """Surprise that episodes reach at the budget's frequency (GPD quantile), floored."""
    ratio = max(rate / p.budget, 1.0)
    if shape > _EXPONENTIAL:
        above = scale / shape * (ratio**shape - 1.0)
    else:
        above = scale * math.log(ratio)
    return max(p.u + above, p.floor)


def _score(s: float, rate: float, scale: float, shape: float, p: Params) -> float:
    """z / (z + z_budget), z = -log10 of how often the series' history reaches surprise s."""
    if s >= p.u:
        x = s - p.u
        if shape > _EXPONENTIAL:
            log_freq = math.log(rate) - math.log1p(shape * x / scale) / shape
        else:
            log_freq = math.log(rate) - x / scale
    else:  # between certainty (s = 0) and rate_u, log-linearly: only the order matters here
        log_freq = math.log(rate) * max(s, 0.0) / p.u
    z = -log_freq / LN10
    z_budget = -math.log10(p.budget)
    return z / (z + z_budget)


def step(cal: list[float], s: float, judged: bool, p: Params) -> tuple[float, float]:
    """One bucket of one series: returns (threshold in force, anomaly score) and advances
    cal (a list of WIDTH floats) in place. The tick and the offline detector both call this
    for every bucket: one code path.

    An episode that reaches the threshold is an alarm: left out of the rate, its peak capped
    at the threshold counts towards the tail's shape and scale (censored).
    """
    rate, scale, shape = _tail(cal, p)
    limit = _limit(rate, scale, shape, p)
    score = _score(s, rate, scale, shape, p)
    if not judged:
        return limit, score
    d = p.decay
    cal[N] = cal[N] * d + 1.0
    for col in (K, C, EXCESS, SQUARES):
        cal[col] *= d
    if s > p.u:
        capped = min(s, limit)
        cal[PEAK] = max(cal[PEAK], capped) if cal[OPEN] else capped
        cal[CENSORED] = 1.0 if (cal[OPEN] and cal[CENSORED]) or s >= limit else 0.0
        cal[OPEN] = 1.0
    elif cal[OPEN]:
        excess = cal[PEAK] - p.u
        cal[C if cal[CENSORED] else K] += 1.0
        cal[EXCESS] += excess
        cal[SQUARES] += excess * excess
        cal[OPEN] = cal[PEAK] = cal[CENSORED] = 0.0
    return limit, score


def tick_step(
    cal: np.ndarray,
    surprise: np.ndarray,
    judged: np.ndarray,
    config: DetectorConfig,
    step_minutes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every series one bucket on: (thresholds, anomaly scores, new calibration (n, WIDTH))."""
    p = Params.of(config, step_minutes)
    rows = np.asarray(cal, dtype=np.float64).reshape(-1, WIDTH).tolist()
    out = [
        step(row, s, j, p)
        for row, s, j in zip(rows, surprise.tolist(), judged.tolist(), strict=True)
    ]
    limits, scores = (np.array(x) for x in zip(*out, strict=True)) if out else (np.zeros(0),) * 2
    return limits, scores, np.array(rows).reshape(-1, WIDTH)


def scan(
    cal: np.ndarray,
    surprise: np.ndarray,
    judged: np.ndarray | None,
    config: DetectorConfig,
    step_minutes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One series over consecutive buckets: (thresholds, anomaly scores, calibration after)."""
    p = Params.of(config, step_minutes)
    row = np.asarray(cal, dtype=np.float64).reshape(WIDTH).tolist()
    values = np.asarray(surprise, dtype=np.float64).tolist()
    flags = [True] * len(values) if judged is None else np.asarray(judged, bool).tolist()
    limits = np.empty(len(values))
    scores = np.empty(len(values))
    for i, (s, j) in enumerate(zip(values, flags, strict=True)):
        limits[i], scores[i] = step(row, s, j, p)
    return limits, scores, np.array(row)
