"""All detection thresholds in one frozen dataclass.

The defaults are the values measured in bench/README.md; change them there and here together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DetectorConfig:
    # --- Baseline -----------------------------------------------------------------------------
    # The gradient-boosting fit sees 15-minute bins (2,688 rows for four weeks, tens of
    # milliseconds) once the history spans fit_fine_min_history_days; hourly bins gave a
    # staircase 20 % off on steep slopes, but on a few days of history a 15-minute bin is
    # mostly noise, so younger series keep them (bench/README.md).
    fit_bin_minutes: int = 15
    fit_bin_minutes_young: int = 60
    fit_fine_min_history_days: float = 14.0
    # Six months like Downdetector would follow growth too slowly; four weeks is enough for the
    # weekly shape and keeps the fit current.
    history_days: int = 28
    # Below this much usable history the boosted model overfits; fall back to a robust mean.
    hgb_min_history_minutes: int = 3 * 1440
    # Below this there is nothing to average; use the prior and judge by absolute excess only.
    mean_min_history_minutes: int = 60
    # A brand-new service: a small rate so that ordinary single reports stay quiet.
    prior_rate_per_minute: float = 0.1
    prior_dispersion: float = 1.0
    # Floor on the dispersion of a "mean" baseline: with a day of history the shape is uncertain.
    mean_min_dispersion: float = 0.1
    max_dispersion: float = 3.0
    # Weekly growth is estimated from whole days; it is clipped so a bad week cannot explode it.
    max_growth_per_day: float = 0.03
    # Growth is extrapolated at most this far past the fit (a late refit must not run away).
    max_extrapolation_days: float = 2.0
    # A run of zeros is an ingestion gap (not real quiet) when at least this long AND the
    # series would normally have produced at least gap_min_expected reports in it
    # (P(0 | Poisson 8) = 3e-4).
    gap_min_minutes: int = 30
    gap_min_expected: float = 8.0
    # Known-outage rows are left out of the fit, unless they are more than this share of the
    # window: then the "outage" is the new normal (or a cold start) and must be learned.
    max_excluded_fraction: float = 0.25
    # HistGradientBoostingRegressor settings: small, regularised, no early stopping (determinism).
    hgb_max_iter: int = 80
    hgb_learning_rate: float = 0.1
    hgb_max_leaf_nodes: int = 15
    hgb_min_samples_leaf: int = 20

    # Short-term level tracking (level.py): time constant of the exponentially weighted ratio,
    # pseudo-count (reports per minute) that keeps quiet series at 1, and the factor's bounds.
    level_time_constant_minutes: float = 120.0
    level_pseudo_count: float = 0.5
    level_min_factor: float = 0.8
    level_max_factor: float = 1.25
    # Sums over at least this many buckets are judged against the level in force before their
    # first bucket: within an hour the tracker follows a slow outage by up to its bound (a
    # +40 % two-hour ramp hid behind a factor of 1.25), while the level an hour ago differs
    # from now by 1-2 % of wander. Shorter sums use the current level: at low volume it also
    # absorbs part of a stray bump, which the short windows would otherwise flag (bench/README.md).
    level_lag_min_window: int = 60
    # Cold start (level.py, cold_*): a series on the prior is judged against its own recent
    # level, a Gamma-Poisson estimate from the reports since its first one (time constant,
    # prior weight in minutes); the parameter uncertainty 1/(reports + prior) is added to
    # cold_dispersion, which covers the unknown daily drift of its first hour.
    cold_time_constant_minutes: float = 30.0
    cold_prior_minutes: float = 0.25
    cold_dispersion: float = 0.25

    # --- Daily phase (phase.py) ---------------------------------------------------------------
    # Daylight saving moves a country's daily pattern by an hour against UTC. Until a series'
    # phase is known it is judged against the max of the baseline within
    # +-shift_tolerance_minutes; once the evidence picks one of -phase_shift / 0 / +phase_shift
    # minutes it is judged against the profile at that phase within +-phase_tolerance_minutes
    # (the wide max hid real outages on the steep parts of the day, bench/README.md).
    shift_tolerance_minutes: int = 60
    phase_shift_minutes: int = 60
    phase_tolerance_minutes: int = 15
    # Evidence = NB log-likelihood advantage of a shifted profile over the unshifted one, from
    # the sums of normal blocks of phase_block_minutes (minutes share level errors, so single
    # buckets would overstate it), clipped to +-phase_evidence_cap so that a change of phase is
    # learned in bounded time. A phase is decided when it beats both others by phase_margin
    # (natural log units); the decision is re-taken at the start of every block.
    phase_block_minutes: int = 15
    # One block's vote is clipped to +-this: a profile slightly off at a sharp edge (local
    # midnight before a weekday) must not outvote hours of slope in a single block.
    phase_block_max_gain: float = 2.0
    phase_evidence_cap: float = 12.0
    phase_margin: float = 4.0
    # The fit classifies the phase of every history day (alignment.py), a change of phase
    # between days costing this much evidence (natural log units): one noisy day does not move
    # the history, a run of days does.
    phase_fit_switch_cost: float = 20.0
    # Buckets longer than this always use the wide tolerance.
    phase_max_step_minutes: int = 5

    # --- Scoring ------------------------------------------------------------------------------
    # Sums over the last k buckets: k=1 catches sharp onsets, longer sums catch ramps and
    # modest outages of small services (a few extra reporters per minute).
    windows: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 60)
    # Tail probability thresholds (P(X >= observed) under the noise model).
    p_outage: float = 1e-6
    p_possible: float = 1e-3
    # Minimum meaningful excess (distinct reporters above expected, over the window). 8, not 6:
    # at 0.1/min a harmless bump of 5 plus ordinary noise reached 6 (bench/README.md) ...
    min_excess_outage: float = 8.0
    min_excess_possible: float = 3.0
    # ... and minimum relative excess: (observed - expected) >= ratio * expected, because at
    # high volume a tiny relative wobble is statistically significant but nobody cares.
    min_ratio_outage: float = 0.3
    min_ratio_possible: float = 0.15
    # Per-window relative floors for problems detected (same order as `windows`; empty = the
    # single min_ratio_outage). "possible" scales with min_ratio_possible / min_ratio_outage.
    min_ratio_outage_by_window: tuple[float, ...] = ()
    # A series on the prior (no fitted history) is judged against its own recent level, with a
    # larger absolute and relative excess: its expectation is an hour old at best.
    cold_min_excess_outage: float = 10.0
    cold_min_excess_possible: float = 5.0
    cold_min_ratio_outage: float = 1.0
    cold_min_ratio_possible: float = 0.5
    # anomaly_score = min(1, -log10(p) / score_log10_max) * excess fulfilment.
    score_log10_max: float = 12.0
    # Onset look-back: a bucket belongs to the excess run if observed > expected + this margin
    # (in standard deviations of the noise model, with an absolute minimum of one report).
    onset_sigma: float = 1.0

    # --- Evidence from networks (networks.py) --------------------------------------------------
    # The counts are counted reports: ingestion counts one per network (IPv4 /24, IPv6 /56) per
    # network_window_minutes (its dedup window) and caps each /16. Over k minutes one network
    # can add up to ceil(k / network_window_minutes), so the excess divided by that is the
    # fewest distinct networks that can have produced it. Problems need at least
    # min_networks_outage of them (possible problems min_networks_possible), and at least the
    # relative floor of the networks a normal window sees (the series' own volume): one
    # household, office or rented range cannot fake an outage, a crowd from many can. For
    # windows up to the dedup window the absolute excess floors above are stricter; the gate
    # binds on the 20- and 60-minute sums, where one network could otherwise count 2-4 times.
    network_window_minutes: int = 15
    min_networks_outage: int = 4
    min_networks_possible: int = 2

    # --- Calibration (calibration.py) ---------------------------------------------------------
    # The alert budget: threshold crossings per series per month on its own recent history
    # (about one false alarm a month, issue 12). The history is weighed with a time constant of
    # calibration_days; surprises above calibration_level (-log10 p) are the tail it models,
    # shrunk towards a calibrated model's (calibration_prior_windows times one window's rate)
    # with the weight of calibration_prior_episodes episodes.
    alarms_per_month: float = 1.0
    calibration_days: float = 28.0
    calibration_level: float = 2.0
    calibration_prior_windows: float = 3.0
    calibration_prior_episodes: float = 20.0
    # Episode peaks are fitted as a generalised Pareto tail whose shape (from the moments of
    # the excesses) is capped here. 0 = exponential: on the real dev set a cap of 0.15 scored
    # 77.8 instead of 68.1 (NAB, decision) but lost 3 of 270 simulated outages and a minute of
    # median delay on seed 2 (bench/README.md), so the exponential stays the default.
    calibration_max_shape: float = 0.0

    # --- State machine --------------------------------------------------------------------------
    # Consecutive level-2 ticks needed to open (1 = open on the first, detection delay matters).
    confirm_ticks: int = 1
    # Minutes back at baseline (level 0) needed to resolve; one dip does not close.
    quiet_minutes: int = 15
    # A re-fire within this many minutes of resolution continues the same outage.
    reopen_minutes: int = 30
    # Resolution looks only at windows up to this many buckets: the long sums still carry an
    # outage's reports for up to an hour after volume is back to normal.
    calm_max_window: int = 5

    # --- Offline detector -----------------------------------------------------------------------
    refit_minutes: int = 1440
    # Early refits while history is short (cold start): at these ages of the series.
    early_refit_minutes: tuple[int, ...] = (60, 120, 240, 480, 960)
    # While the baseline is not yet seasonal ("prior" or "mean") it is refitted this often,
    # as production does (the "baselines-refit-cold" beat every 15 minutes).
    young_refit_minutes: int = 15

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """Refuses unknown names: a misspelt override would otherwise change nothing, silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown detector setting(s): {', '.join(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
