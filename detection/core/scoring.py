"""Vectorised scoring of the newest buckets of many series against their baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .dispersion import window_alpha
from .networks import ONE_HOST_SITES, counts_per_network, excess_networks, networks_needed

if TYPE_CHECKING:
    from .config import DetectorConfig


@dataclass(frozen=True)
class ScoringConfig:
    """Settings of scoring (part of DetectorConfig; flat override names)."""

    # Sums over the last k buckets: k=1 catches sharp onsets, longer sums catch ramps and
    # modest outages of small services. Adding 60 to (1, 2, 3, 5, 10, 20): recall >= 30 0.937
    # -> 0.944 on 40 x 6 (bench/README.md, "History of the tuning" 4).
    # At a coarse spacing only the windows within the level's time constant are used
    # (DetectorConfig.at_spacing).
    windows: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 60)
    # Tail probability P(X >= observed) under the noise model at or below which a window says
    # "problems detected" (calibration can only raise the bar per series). 3e-6: recall >= 30
    # unchanged on seeds 1 / 2, false alarms 0.037 / 0.075 against 0.019 / 0.037
    # (bench/README.md, 2026-11-27 morning); 1e-5 with lower long-window floors broke seed 2's
    # false-alarm and precision targets (ibid., 2026-11-26 item 7).
    p_outage: float = 1e-6
    # The same for "possible problems" (the amber status; such buckets cast no phase vote and
    # keep an outage open). Not measured.
    p_possible: float = 1e-3
    # Least excess (distinct reporters above expected, over the window) for problems. 8, not 6:
    # at 0.1/min a harmless bump of 5 plus ordinary noise reached 6; false alarms 0.056 ->
    # 0.025 at equal recall (bench/README.md, "History of the tuning" 5).
    min_excess_outage: float = 8.0
    # Least relative excess, (observed - expected) >= ratio x expected: at high volume a tiny
    # relative wobble is significant but nobody cares. One value for every window, or one per
    # window (same order as `windows`). +30 % itself was not varied; lower floors on the long
    # sums found no outage more, for false alarms 10 / 7 on seeds 1 / 2 (bench/README.md,
    # 2026-11-27 morning; also 2026-11-26 items 6 and 7).
    min_ratio_outage: float | tuple[float, ...] = 0.3

    def __post_init__(self) -> None:
        for name in ("windows", "min_ratio_outage"):  # lists (JSON) are kept as tuples
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.windows or any(k < 1 for k in self.windows):
            raise ValueError("windows must be one or more positive bucket counts")
        ratio = self.min_ratio_outage
        if isinstance(ratio, tuple) and len(ratio) != len(self.windows):
            raise ValueError("min_ratio_outage must be one value or one per window")

    def ratio_by_window(self) -> tuple[float, ...]:
        """The relative floor of problems detected for each window, in `windows` order."""
        ratio = self.min_ratio_outage
        return ratio if isinstance(ratio, tuple) else (ratio,) * len(self.windows)


# "Possible problems" need this share of every floor of "problems detected": relative excess
# (networks' too) and a cold series' absolute excess. Not measured. Not the fewest networks:
# as many as problems need (networks.networks_needed).
POSSIBLE_SHARE = 0.5
# ... except a fitted series' absolute excess: 3 reporters, half of the 6 that problems needed
# before they were raised to 8 against harmless bumps (bench/README.md, "History" 5).
MIN_EXCESS_POSSIBLE = 3.0
# A series on the prior (no fitted history) is judged against its own recent level with larger
# floors, its expectation being an hour old at best: 10 reporters and +100 % for problems.
# Measured: 0 outages on 54 new 1.5-hour series; a burst of 40/min after an hour at 1/min
# opens in its first minute (bench/README.md, "Cold start").
COLD_MIN_EXCESS_OUTAGE = 10.0
COLD_MIN_RATIO_OUTAGE = 1.0
# anomaly_score of a window (before calibration replaces it; it still picks the deciding window
# among those at the same level) = min(1, -log10(p) / SCORE_LOG10_MAX) x excess fulfilment.
SCORE_LOG10_MAX = 12.0
# Onset look-back: a bucket belongs to the excess run if observed > expected + this many sd of
# the noise model (at least one report). The onset is reported, it decides nothing.
ONSET_SIGMA = 1.0
# Whether volume is back to normal (resolution, and re-opening in the hour after one) is
# judged on windows up to this many buckets only: the long sums still carry an outage's reports
# for up to an hour after volume is back (bench/README.md, "What fools naive detectors").
CALM_MAX_WINDOW = 5

LEVEL_OK = 0
LEVEL_POSSIBLE = 1
LEVEL_OUTAGE = 2
# Below this alpha the negative binomial is numerically a Poisson; say so in the rule name.
_POISSON_ALPHA = 1e-3
_KINDS = ("poisson", "nb", "excess")


def rule_names(windows: tuple[int, ...], step_minutes: int = 1) -> np.ndarray:
    """Rule code table: code = kind_index * len(windows) + window_index; "" for code -1. A
    name says the minutes its window sums ("nb_100m": 20 buckets of 5 minutes), as the
    verdict's words read it (presentation.rule_words)."""
    names = [f"{kind}_{k * step_minutes}m" for kind in _KINDS for k in windows]
    return np.array([*names, ""], dtype=object)  # index -1 -> ""


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Per series: the verdict on the newest bucket and the evidence behind it."""

    score: np.ndarray  # (n,) anomaly score in [0, 1]
    level: np.ndarray  # (n,) int8: 0 ok, 1 possible problems, 2 problems detected
    rule: np.ndarray  # (n,) str: rule that decided the level ("" when level 0)
    p_value: np.ndarray  # (n,) tail probability of the deciding window
    window: np.ndarray  # (n,) buckets summed by the deciding window
    observed: np.ndarray  # (n,) observed sum over that window
    expected: np.ndarray  # (n,) expected sum over that window
    # (n,) fewest distinct networks behind that window's excess (networks.excess_networks)
    networks: np.ndarray
    # Highest level over the short windows only (<= CALM_MAX_WINDOW): what "back to
    # normal" is judged on, so an outage resolves when volume is, not an hour later.
    recent_level: np.ndarray
    # (n, len(windows)) -log10 p of each window that meets every floor of "problems detected"
    # (0 where one does not): what calibration.py measures and thresholds per series (the
    # strongest window of each band), and which windows carry the evidence (hot_span).
    window_surprise: np.ndarray
    # Buckets summed by each of those windows, in `windows` order (one tuple for all series).
    spans: tuple[int, ...]
    # Every window's evidence, (n, len(windows)) each, and the rule names (rule_names, with
    # each row's kind of model): what the verdict cites when the calibration sets aside the
    # window chosen above (with_threshold). The names are one tuple for all series, as spans.
    window_p: np.ndarray
    window_observed: np.ndarray
    window_expected: np.ndarray
    window_networks: np.ndarray
    rule_table: tuple[str, ...]
    rule_kind: np.ndarray
    # (n,) buckets summed by the shortest window at "problems detected" after calibration (0:
    # none): how far back the evidence reaches, so that the hour after an outage is judged on
    # what came after it (state.transition). None from score(); with_threshold sets it.
    hot_span: np.ndarray | None = None
    # (n,) the floors and the model's tail probability said "problems detected", and the
    # series' calibrated threshold held the bucket at "possible problems" (with_threshold).
    # Decides nothing: it is why the verdict is only "possible", which the status words say
    # (a relapse held so read "the jump is in a single minute so far" in its second minute,
    # documentation tester, forty-eighth session).
    held: np.ndarray | None = None


def tail_probability(observed: np.ndarray, expected: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """P(X >= observed) for X ~ NB(mean=expected, var=mu + alpha mu^2); Poisson when alpha ~ 0."""
    observed = np.asarray(observed, dtype=np.float64)
    mu = np.maximum(np.asarray(expected, dtype=np.float64), 1e-9)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), mu.shape)
    k = np.ceil(observed) - 1  # sf(k) = P(X > k)
    pois = stats.poisson.sf(k, mu)
    safe_alpha = np.maximum(alpha, _POISSON_ALPHA)
    r = 1.0 / safe_alpha
    nb = stats.nbinom.sf(k, r, r / (r + mu))
    return np.where(alpha < _POISSON_ALPHA, pois, nb)


# Below this p, sf has lost its digits, and from about 1e-308 it is 0: surprise is taken there
# from the log of the probability mass instead, so it keeps ranking however far out a burst is.
_DEEP_TAIL = 1e-250


def surprise(
    observed: np.ndarray, expected: np.ndarray, alpha: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """-log10 P(X >= observed) for tail_probability's model, p being that probability: exact
    while p is representable, past that ln pmf(x) - ln(1 - ratio) (the probability of x and a
    geometric sum of the rest at the ratio of its next term), within a few per cent of the
    exact surprise there, which is 250 and more."""
    out = -np.log10(np.maximum(p, np.finfo(np.float64).tiny))
    deep = p < _DEEP_TAIL
    if not deep.any():
        return out
    shape = np.broadcast_shapes(np.shape(observed), np.shape(expected), np.shape(alpha))
    x = np.ceil(np.broadcast_to(observed, shape)[deep])
    mu = np.maximum(np.broadcast_to(expected, shape)[deep], 1e-9)
    a = np.broadcast_to(alpha, shape)[deep]
    r = 1.0 / np.maximum(a, _POISSON_ALPHA)
    q = mu / (r + mu)  # NB's failure probability: the ratio of far-out terms
    log_pmf = np.where(
        a < _POISSON_ALPHA, stats.poisson.logpmf(x, mu), stats.nbinom.logpmf(x, r, 1.0 - q)
    )
    ratio = np.where(a < _POISSON_ALPHA, mu / (x + 1.0), (x + r) / (x + 1.0) * q)
    log_tail = log_pmf - np.log1p(-np.minimum(ratio, 1.0 - 1e-12))
    out = np.array(out, copy=True)
    out[deep] = np.maximum(-log_tail / np.log(10.0), -np.log10(_DEEP_TAIL))
    return out


def _ratios(config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Relative excess floors per window for problems detected and possible problems."""
    out = np.asarray(config.scoring.ratio_by_window(), dtype=np.float64)
    return out, out * POSSIBLE_SHARE


def _trailing_sums(a: np.ndarray, windows: tuple[int, ...]) -> np.ndarray:
    """(n, len(windows)) sums of the last k columns for each k."""
    cs = np.cumsum(a[:, ::-1], axis=1)
    return cs[:, [k - 1 for k in windows]]


def score(
    observed: np.ndarray,
    expected: np.ndarray,
    dispersion: np.ndarray,
    config: DetectorConfig,
    cold: np.ndarray | None = None,
    level_dispersion: np.ndarray | None = None,
    judge: np.ndarray | None = None,
    window_factor: np.ndarray | None = None,
    step_minutes: int = 1,
) -> ScoreResult:
    """Score the newest column of (n, w) observed/expected counts, w >= max(windows).

    expected must already be the judged (shift-tolerant) expectation; window_factor, if given,
    (n, len(windows)) scales each window's expected sum (the level each window is judged at,
    level.window_factors), expected then being without the level factor. cold marks series on
    the prior baseline, judged against their own recent level (level.cold_state) with larger
    absolute and relative excess floors. level_dispersion: correlated part of the dispersion
    (defaults to all of it, conservative). judge: rows that may be above level 0 (default all).
    Problems also need the excess to come from enough distinct networks (networks.py).
    """
    observed = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    sc = config.scoring
    windows = sc.windows
    if observed.shape[1] < max(windows):
        raise ValueError(f"need at least {max(windows)} buckets, got {observed.shape[1]}")
    n = observed.shape[0]
    alpha = np.asarray(dispersion, dtype=np.float64).reshape(n, 1)
    level_alpha = alpha if level_dispersion is None else np.asarray(level_dispersion).reshape(n, 1)
    cold_col = (np.zeros(n, dtype=bool) if cold is None else np.asarray(cold, bool)).reshape(n, 1)

    obs = _trailing_sums(observed, windows)
    exp = _trailing_sums(expected, windows)
    if window_factor is not None:
        exp = exp * np.asarray(window_factor, dtype=np.float64).reshape(n, len(windows))
    obs_alpha = window_alpha(alpha, level_alpha, np.asarray(windows))
    p = tail_probability(obs, exp, obs_alpha)
    excess = obs - exp
    ratio_out, ratio_pos = _ratios(config)
    need_out = np.maximum(
        np.where(cold_col, COLD_MIN_EXCESS_OUTAGE, sc.min_excess_outage),
        np.where(cold_col, COLD_MIN_RATIO_OUTAGE, ratio_out) * exp,
    )
    need_pos = np.maximum(
        np.where(cold_col, POSSIBLE_SHARE * COLD_MIN_EXCESS_OUTAGE, MIN_EXCESS_POSSIBLE),
        np.where(cold_col, POSSIBLE_SHARE * COLD_MIN_RATIO_OUTAGE, ratio_pos) * exp,
    )
    span = np.asarray(windows)
    networks = excess_networks(excess, span, step_minutes, config)
    nets_out, nets_pos = networks_needed(exp, span, step_minutes, config, (ratio_out, ratio_pos))
    # Every floor but the tail probability, per window: what "problems" and "possible
    # problems" need besides p, and what the calibration measures the surprise of.
    judged = np.ones((n, 1), bool) if judge is None else np.asarray(judge, bool).reshape(n, 1)
    meets_out = judged & (excess >= need_out) & (networks >= nets_out)
    meets_pos = judged & (excess >= need_pos) & (networks >= nets_pos)
    # The network floor bounds the networks behind the whole excess, the service's own
    # reporters' share too, so on a busier service one host's sites and a little chance met
    # it; the sum must also be surprising with all one host can add taken out. Only the level
    # asks this: the calibration still reads the surprise of every window that meets the
    # floors (gating that too moved IBM's threshold down, 9 -> 20 alerts outside; bench/
    # README.md, "What one host can add is set aside").
    beyond = _p_beyond_one_host(
        obs, exp, obs_alpha, meets_pos & (p <= sc.p_possible), span, step_minutes, config
    )
    level = np.where(
        meets_out & (np.maximum(p, beyond) <= sc.p_outage),
        LEVEL_OUTAGE,
        np.where(meets_pos & (np.maximum(p, beyond) <= sc.p_possible), LEVEL_POSSIBLE, LEVEL_OK),
    )
    log_p = surprise(obs, exp, obs_alpha, p)
    per_window = np.minimum(1.0, log_p / SCORE_LOG10_MAX) * np.clip(excess / need_out, 0, 1)
    window_surprise = np.where(meets_out, log_p, 0.0)

    # The deciding window: highest level first, then the strongest score.
    best = np.argmax(level * 10.0 + per_window, axis=1)
    rows = np.arange(n)
    best_level = level[rows, best].astype(np.int8)
    kind = np.where(cold_col[:, 0], 2, np.where(alpha[:, 0] < _POISSON_ALPHA, 0, 1))
    code = np.where(best_level > 0, kind * len(windows) + best, -1)
    names = rule_names(windows, step_minutes)
    return ScoreResult(
        score=per_window.max(axis=1),
        level=best_level,
        rule=names[code],
        p_value=p[rows, best],
        window=np.asarray(windows)[best],
        observed=obs[rows, best],
        expected=exp[rows, best],
        networks=networks[rows, best],
        recent_level=level[:, np.asarray(windows) <= CALM_MAX_WINDOW].max(axis=1),
        window_surprise=window_surprise,
        spans=tuple(windows),
        window_p=p,
        window_observed=obs,
        window_expected=exp,
        window_networks=networks,
        rule_table=tuple(names),
        rule_kind=kind,
    )


def _p_beyond_one_host(
    obs: np.ndarray,
    exp: np.ndarray,
    alpha: np.ndarray,
    candidate: np.ndarray,
    span: np.ndarray,
    step_minutes: int,
    config: DetectorConfig,
) -> np.ndarray:
    """(n, w) tail probability of each window's sum less the most one host can add to it (its
    ONE_HOST_SITES sites, each counted once a dedup window), in the candidate cells; 1
    elsewhere, which are below the bar already and need no second pass through scipy."""
    host = ONE_HOST_SITES * counts_per_network(span, step_minutes, config)
    out = np.ones(obs.shape)
    rows, cols = np.nonzero(candidate)
    if len(rows):
        a = np.broadcast_to(alpha, obs.shape)
        out[rows, cols] = tail_probability(
            np.maximum(obs[rows, cols] - host[cols], 0.0), exp[rows, cols], a[rows, cols]
        )
    return out


def with_threshold(result: ScoreResult, window_limit: np.ndarray, score: np.ndarray) -> ScoreResult:
    """Problems detected only where a window's surprise reaches the series' calibrated
    threshold for that window (calibration.window_limits: its band's); below it the bucket is
    at most "possible problems". score: the calibrated anomaly score."""
    surprise = np.atleast_2d(np.asarray(result.window_surprise, dtype=np.float64))
    limit = np.asarray(window_limit, dtype=np.float64).reshape(surprise.shape)
    reach = surprise >= limit
    demote = (result.level == LEVEL_OUTAGE) & ~reach.any(axis=1)
    level = np.where(demote, LEVEL_POSSIBLE, result.level).astype(np.int8)
    # `windows` need not be sorted: the shortest window that reaches its threshold.
    spans = np.asarray(result.spans, dtype=np.int64)
    shortest = np.where(reach, spans, np.iinfo(np.int64).max).min(axis=1)
    hot_span = np.where(level == LEVEL_OUTAGE, shortest, 0)
    result = replace(
        result,
        level=level,
        score=np.asarray(score, dtype=np.float64),
        hot_span=hot_span,
        held=demote,
    )
    return _cite_reaching(result, reach)


def _cite_reaching(result: ScoreResult, reach: np.ndarray) -> ScoreResult:
    """The verdict of a bucket at "problems detected" cites a window that reached its
    calibrated threshold: where the strongest window did not (its band's history holds such
    bursts as ordinary) but another did, that one (the most surprising of those) decided, and
    its rule, p and sums are what the outage's words say."""
    spans = np.asarray(result.spans, dtype=np.int64)
    cited = np.argmax(spans[None, :] == np.asarray(result.window)[:, None], axis=1)
    rows = np.flatnonzero((result.level == LEVEL_OUTAGE) & ~reach[np.arange(len(reach)), cited])
    if not len(rows):
        return result
    surprise = np.atleast_2d(np.asarray(result.window_surprise, dtype=np.float64))[rows]
    pick = np.argmax(np.where(reach[rows], surprise, -np.inf), axis=1)

    def swapped(column: np.ndarray, per_window: np.ndarray) -> np.ndarray:
        out = np.array(column, copy=True)
        out[rows] = per_window[rows, pick]
        return out

    rule = np.array(result.rule, copy=True)
    table = np.array(result.rule_table, dtype=object)
    rule[rows] = table[result.rule_kind[rows] * len(spans) + pick]
    return replace(
        result,
        rule=rule,
        p_value=swapped(result.p_value, result.window_p),
        window=swapped(result.window, np.broadcast_to(spans, reach.shape)),
        observed=swapped(result.observed, result.window_observed),
        expected=swapped(result.expected, result.window_expected),
        networks=swapped(result.networks, result.window_networks),
    )


def onset_offsets(
    observed: np.ndarray,
    expected: np.ndarray,
    dispersion: np.ndarray,
    span: np.ndarray | None = None,
) -> np.ndarray:
    """How many buckets before the newest the current excess run began (0 = newest).

    A bucket is in the run while observed > expected + max(1, ONSET_SIGMA * sd); the onset is
    reported as the first minute of the run, not the minute we became sure.

    span: (n,) buckets summed by the window that carries the evidence (ScoreResult.hot_span;
    0 or None: none). Where the newest bucket is in no run, a long sum decided on reports
    spread thinly over it (a quiet service's rise of a report every other minute): its onset
    is then the oldest bucket of that window above its expectation, not the newest minute,
    which gave an outage of one minute with "peak 0 reports a minute" (upgrade tester).
    """
    observed = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    rev = buckets_in_excess(observed, expected, dispersion)[:, ::-1]
    run = np.where(rev.all(axis=1), rev.shape[1], np.argmin(rev, axis=1))
    offsets = np.maximum(run - 1, 0)
    if span is None:
        return offsets
    width = observed.shape[1]
    reach = np.minimum(np.asarray(span, dtype=np.int64), width)
    thin = (run == 0) & (reach > 1)
    if thin.any():
        above = (observed > expected)[:, ::-1][thin]  # newest first
        within = np.arange(width)[None, :] < reach[thin][:, None]
        above &= within
        oldest = width - 1 - np.argmax(above[:, ::-1], axis=1)  # oldest above, newest first
        offsets[thin] = np.where(above.any(axis=1), oldest, 0)
    return offsets


def newest_in_excess(
    observed: np.ndarray, expected: np.ndarray, dispersion: np.ndarray
) -> np.ndarray:
    """(n,) whether the newest bucket itself is above its expectation (in an excess run, as
    onset_offsets counts them): a bucket that is back to normal says nothing new, however
    surprising the sums that still hold earlier buckets are."""
    observed = np.atleast_2d(np.asarray(observed, dtype=np.float64))[:, -1:]
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))[:, -1:]
    return buckets_in_excess(observed, expected, dispersion)[:, 0]


def buckets_in_excess(
    observed: np.ndarray, expected: np.ndarray, dispersion: np.ndarray
) -> np.ndarray:
    """Buckets above expected + max(1 report, ONSET_SIGMA sd of the noise model): the rule an
    excess run is counted by (onset_offsets)."""
    observed = np.atleast_2d(np.asarray(observed, dtype=np.float64))
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    alpha = np.asarray(dispersion, dtype=np.float64).reshape(-1, 1)
    sd = np.sqrt(expected + alpha * expected**2)
    return observed > expected + np.maximum(1.0, ONSET_SIGMA * sd)
