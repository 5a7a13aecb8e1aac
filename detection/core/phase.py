"""Daily phase: which one-hour shift of the fitted daily pattern a series follows now.

Daylight saving moves a country's daily pattern by an hour against UTC, and the baseline, fitted
on weeks of history, follows only slowly. Judging against the max of the profile within +-60
minutes tolerates the shift, but on the steep parts of the day that max is far above the real
expectation and hides real outages (bench/README.md). So each series carries evidence for its
phase: the log-likelihood advantage of the profile read `PHASE_SHIFT_MINUTES` earlier ("minus")
or later ("plus") over the unshifted one, summed over normal 15-minute blocks and clipped so a
change of phase is learned in bounded time. When one phase is clearly best the series is judged
against the profile at that phase with a narrow tolerance; while the evidence is unclear (a new
series, small counts, a flat day) the wide tolerance stays.

The evidence compares the plain profiles, without the short-term level factor: that factor
follows the ratio of observed to expected over two hours, so on a steep slope it would absorb
most of a shift (an hour late looks like a low level on the way up). Blocks during an outage
add no evidence: an outage raises volume, which always looks like the
phase with the higher expectation. The phase in force changes only at block starts, so the
offline detector can score the rows between two changes in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .clock import UNKNOWN_OFFSET
from .dispersion import nb_loglik, window_alpha
from .scoring import LEVEL_POSSIBLE

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .baseline import BaselineBatch


@dataclass(frozen=True)
class PhaseConfig:
    """Settings of the daily phase (part of DetectorConfig; flat override names)."""

    # A decided phase is judged within +-this of the profile at that phase. 10 cost false
    # alarms (seeds 1 / 2: 0.081 / 0.106 against 0.037 / 0.050), 5 too (0.113 / 0.075), at
    # equal recall: the 15-minute profile is not timed better than that (bench/README.md).
    phase_tolerance_minutes: int = 15


# Daylight saving moves a country's daily pattern by an hour against UTC: the shifted phases
# are one hour either side, and until a series' phase is decided it is judged against the max
# of the profile within +-that hour (30 would have scored better on the small run but no longer
# covers the one-hour clock change, bench/README.md "History of the tuning" 5).
PHASE_SHIFT_MINUTES = 60
SHIFT_TOLERANCE_MINUTES = PHASE_SHIFT_MINUTES
# Evidence comes from normal blocks of this many minutes (one profile slot; minutes share
# level errors, so single buckets would overstate it); the phase in force is re-decided at
# each block start.
PHASE_BLOCK_MINUTES = 15
# One block's vote is clipped to +-this (natural log units): a profile slightly off at a sharp
# edge (local midnight before a weekday) outvoted hours of slope; capping at 2: false alarms
# 0.069 -> 0.031 on seed 1, 0.044 -> 0.050 on seed 2, equal recall (bench/README.md, 2026-11-26
# item 4).
PHASE_BLOCK_MAX_GAIN = 2.0
# The evidence is clipped to +-this so a change of phase is learned in bounded time, and a
# phase is decided when it beats both others by PHASE_MARGIN: with votes of at most 2, two
# hours of contrary blocks overturn a confident phase (bench/README.md, 2026-11-26 item 1).
PHASE_EVIDENCE_CAP = 12.0
PHASE_MARGIN = 4.0
# A shifted phase must win by this much more: clocks change twice a year, so the prior odds
# that one changed within the few days the fit takes to realign its history (1-5 days) are
# about 1 in 60, ln 60 ~ 4. Losing "on time" (undecided: the wide tolerance) is as quick as
# before; deciding a shift takes two more blocks of consistent evidence. Before, a profile
# a little off on a slope decided a wrong shift on 5.1 % of the minutes before any clock
# change (seed 5; now 3.1 %), and the narrow tolerance read an hour off alarmed on sharp
# edges: false alarms 51 -> 42 on seeds 1-6, one outage >= 30 lost (half a day after a clock
# change, still undecided); bench/README.md, "A shifted phase needs more evidence".
PHASE_SHIFT_PRIOR = 4.0
# Buckets longer than this always use the wide tolerance (an hour's shift is a few buckets).
PHASE_MAX_STEP_MINUTES = 5

PHASE_UNDECIDED = 0
PHASE_MINUS = 1
PHASE_ZERO = 2
PHASE_PLUS = 3


def phase_enabled(step_minutes: int) -> bool:
    return step_minutes <= PHASE_MAX_STEP_MINUTES


def phase_offsets(codes: np.ndarray) -> np.ndarray:
    """Minutes to add to a bucket's time to read the profile at each phase (undecided: 0)."""
    s = PHASE_SHIFT_MINUTES
    return np.array([0, -s, 0, s], dtype=np.int64)[np.asarray(codes, dtype=np.int64)]


def block_buckets(step_minutes: int) -> int:
    return max(1, PHASE_BLOCK_MINUTES // step_minutes)


def is_decision_minute(minute: np.ndarray | int) -> np.ndarray:
    """Block starts: the phase in force is re-decided from the evidence of whole blocks."""
    return np.mod(np.asarray(minute, dtype=np.int64), PHASE_BLOCK_MINUTES) == 0


def is_block_end(minute: np.ndarray | int, step_minutes: int) -> np.ndarray:
    minute = np.asarray(minute, dtype=np.int64)
    return np.mod(minute + step_minutes, PHASE_BLOCK_MINUTES) == 0


def phase_decide(minus: ArrayLike, plus: ArrayLike) -> np.ndarray:
    """Phase code from the evidence: the best phase if it beats both others by PHASE_MARGIN,
    a shifted one by PHASE_MARGIN + PHASE_SHIFT_PRIOR; else undecided (the wide tolerance)."""
    minus = np.asarray(minus, dtype=np.float64)
    evidence = np.stack((minus, np.zeros_like(minus), np.asarray(plus, dtype=np.float64)))
    best = np.argmax(evidence, axis=0)
    margin = PHASE_MARGIN + np.where(best == PHASE_ZERO - PHASE_MINUS, 0.0, PHASE_SHIFT_PRIOR)
    plausible = evidence >= evidence.max(axis=0) - margin
    decided = plausible.sum(axis=0) == 1
    return np.where(decided, best + PHASE_MINUS, PHASE_UNDECIDED).astype(np.int8)


def clock_phase(offset_now: ArrayLike, offset_fitted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Phase code from a known clock (clock.py), and where the clock is known.

    The code is how far the offset in force has moved since the fit. A series without a known
    clock, or whose baseline was fitted without one, is not known here: its phase comes from
    the evidence. A move other than the one-hour shift (a zone changing its standard time,
    say) is known but undecided: the wide tolerance covers what it can.
    """
    now = np.asarray(offset_now, dtype=np.int64)
    fitted = np.asarray(offset_fitted, dtype=np.int64)
    delta = now - fitted
    known = (now != UNKNOWN_OFFSET) & (fitted != UNKNOWN_OFFSET)
    s = PHASE_SHIFT_MINUTES
    code = np.select(
        [delta == -s, delta == 0, delta == s], [PHASE_MINUS, PHASE_ZERO, PHASE_PLUS]
    ).astype(np.int8)
    return np.where(known, code, PHASE_UNDECIDED).astype(np.int8), known


def phase_rebased(
    code: ArrayLike,
    minus: ArrayLike,
    plus: ArrayLike,
    basis: ArrayLike,
    fitted_at: ArrayLike,
    moved: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence and phase code against the current baseline (basis: the fitted_at it was for).

    A new baseline that moved its history onto the latest phase (alignment.py) is on time by
    construction: the evidence restarts from "on time" with full confidence (an hour of
    contrary blocks makes it undecided again, two decide the other way). Restarting barely
    decided let one noisy block on a slope fall back to the wide tolerance, which hid a +70 %
    outage (bench/README.md). Any other new baseline keeps the profile's coordinates, and with
    them the evidence.
    """
    reset = (np.asarray(basis) != np.asarray(fitted_at)) & np.asarray(moved, dtype=bool)
    on_time = -PHASE_EVIDENCE_CAP
    minus = np.where(reset, on_time, minus)
    plus = np.where(reset, on_time, plus)
    code = np.where(reset, PHASE_ZERO, code).astype(np.int8)
    return code, minus, plus


def phase_in_force(code: ArrayLike, minus: ArrayLike, plus: ArrayLike, minute: int) -> np.ndarray:
    """The stored phase, re-decided from the evidence at decision minutes."""
    if is_decision_minute(minute):
        return phase_decide(minus, plus)
    return np.asarray(code, dtype=np.int8)


def block_votes(level: ArrayLike, in_outage: ArrayLike, cold: ArrayLike) -> np.ndarray:
    """Blocks that may vote: not cold, no open outage, newest bucket judged normal.

    "Possible problems" does not vote: an outage on the morning rise looks like the later
    phase and would vote itself into the wide tolerance (test_core_phase.py).
    """
    return (np.asarray(level) < LEVEL_POSSIBLE) & ~np.asarray(in_outage) & ~np.asarray(cold)


def block_evidence(
    observed: np.ndarray,
    mus: tuple[np.ndarray, np.ndarray, np.ndarray],
    alpha: np.ndarray,
    level_alpha: np.ndarray,
    normal: np.ndarray,
    max_gain: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evidence of (n, k) blocks of buckets: gains for minus and plus, and which blocks count.

    mus: expected counts per bucket at the -shift, 0 and +shift phases. A block counts when it
    was judged normal and holds no ingestion gap (a zero where >= 2 reports were due). Gains
    are clipped to +-max_gain.
    """
    x = np.asarray(observed, dtype=np.float64)
    mu_minus, mu_zero, mu_plus = (np.asarray(m, dtype=np.float64) for m in mus)
    alpha_k = window_alpha(np.asarray(alpha), np.asarray(level_alpha), x.shape[1])
    gain_minus, gain_plus = loglik_gains(
        x.sum(axis=1),
        (mu_minus.sum(axis=1), mu_zero.sum(axis=1), mu_plus.sum(axis=1)),
        alpha_k,
        max_gain,
    )
    gap = ((x == 0) & (mu_zero >= 2.0)).any(axis=1)
    return gain_minus, gain_plus, np.asarray(normal, bool) & ~gap


def block_gains(
    batch: BaselineBatch,
    idx: np.ndarray,
    block_minutes: np.ndarray,
    observed: np.ndarray,
    normal: np.ndarray,
    step_minutes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """block_evidence for (rows, k) blocks of the series idx (broadcast like batch.expected)."""
    shift = PHASE_SHIFT_MINUTES
    mu_minus, mu_zero, mu_plus = (
        batch.expected(idx, block_minutes, step_minutes, s) for s in (-shift, 0, shift)
    )
    return block_evidence(
        observed,
        (mu_minus, mu_zero, mu_plus),
        batch.dispersion[idx],
        batch.level_dispersion[idx],
        normal,
        PHASE_BLOCK_MAX_GAIN,
    )


def loglik_gains(
    total: np.ndarray,
    mus: tuple[np.ndarray, np.ndarray, np.ndarray],
    alpha: np.ndarray,
    max_gain: float,
) -> tuple[np.ndarray, np.ndarray]:
    """NB log-likelihood of counts under the -shift and +shift means, minus the unshifted one,
    clipped to +-max_gain."""

    zero = nb_loglik(total, mus[1], alpha)
    return (
        np.clip(nb_loglik(total, mus[0], alpha) - zero, -max_gain, max_gain),
        np.clip(nb_loglik(total, mus[2], alpha) - zero, -max_gain, max_gain),
    )


def phase_update(
    minus: np.ndarray | float,
    plus: np.ndarray | float,
    gain_minus: np.ndarray | float,
    gain_plus: np.ndarray | float,
    usable: np.ndarray | bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold one block's evidence in (clipped, so a change of phase is learned in bounded time)."""
    cap = PHASE_EVIDENCE_CAP
    return (
        np.clip(minus + np.where(usable, gain_minus, 0.0), -cap, cap),
        np.clip(plus + np.where(usable, gain_plus, 0.0), -cap, cap),
    )
