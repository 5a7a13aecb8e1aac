"""Baseline: expected distinct reporters per minute for each 15-minute slot of the week.

A Baseline is small (672 floats + a few scalars) and JSON-serialisable so the Django side can
store one per series; BaselineBatch stacks many for the per-minute tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .clock import UNKNOWN_OFFSET
from .phase import SHIFT_TOLERANCE_MINUTES, PhaseConfig
from .timegrid import (
    MINUTES_PER_DAY,
    SLOT_MINUTES,
    SLOTS_PER_WEEK,
    SlotMaxima,
    circular_max_filter,
    interpolate_profile,
    minute_of_week,
)

if TYPE_CHECKING:
    from .config import DetectorConfig

METHODS = ("hgb", "mean", "prior")
# A profile's precision, in memory and stored: float32 (7 significant digits) is far finer than
# any fitted rate is known, and halves the largest array a tick holds (the stacked profiles of
# 100k series, 537 -> 269 MB) and the bytes a detector reads when it starts
# (bench/scale/README.md, "The profiles in single precision"). A Baseline rounds its profile
# here when it is made, so a fitted baseline and the one read back from storage are the same.
PROFILE_FLOAT = np.float32
# Growth is extrapolated at most this far past the fit: a late refit must not run away.
MAX_EXTRAPOLATION_DAYS = 2.0
# Buckets longer than a slot are integrated with this many sample points at most.
_MAX_SAMPLES_PER_BUCKET = 15


def _readonly(a: np.ndarray, dtype: Any) -> np.ndarray:
    """`a` as a read-only array of `dtype`: a copy, so that the caller's array may change
    after, unless `a` already is a read-only array of its own data (handed over: a batch's
    profiles are 269 MB at 100k series, and the copy 0.2 s a 20k chunk)."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and not a.flags.writeable and a.flags.owndata:
        return a
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def expected_counts(
    profiles: np.ndarray | SlotMaxima,
    rows: np.ndarray | None,
    fitted_at: np.ndarray | float,
    growth_per_day: np.ndarray | float,
    max_extrapolation_days: np.ndarray | float,
    minutes: np.ndarray,
    step_minutes: int = 1,
) -> np.ndarray:
    """Expected count in bucket [m, m + step) for every m in `minutes`.

    The single implementation behind Baseline.expected and BaselineBatch.expected, so the
    offline detector and the production tick cannot drift apart.
    """
    minutes = np.asarray(minutes, dtype=np.float64)
    n_samples = min(step_minutes, _MAX_SAMPLES_PER_BUCKET)
    rate = np.zeros(np.broadcast_shapes(minutes.shape, np.shape(rows) if rows is not None else ()))
    for j in range(n_samples):
        at = minutes + (j + 0.5) * step_minutes / n_samples
        rate = rate + interpolate_profile(profiles, rows, minute_of_week(at))
    rate /= n_samples
    # Growth is extrapolated only a little past the fit; older minutes get the level they had.
    days = np.minimum((minutes - fitted_at) / MINUTES_PER_DAY, max_extrapolation_days)
    return rate * np.exp(growth_per_day * days) * step_minutes


@dataclass(frozen=True, eq=False)
class Baseline:
    """Fitted expectation for one series.

    profile: (672,) expected reports PER MINUTE per 15-minute slot of the week at the level of
    `fitted_at`; slot 0 = Monday 00:00 UTC.
    dispersion: NB alpha for counts at `step_minutes` buckets (var = mu + alpha * mu^2).
    level_dispersion: the part of it that is correlated over time (baseline level error), so
    it does not shrink when buckets are summed; 0 <= level_dispersion <= dispersion.
    """

    profile: np.ndarray
    dispersion: float
    fitted_at: int
    history_minutes: int
    method: str
    level_dispersion: float = 0.0
    growth_per_day: float = 0.0
    step_minutes: int = 1
    max_extrapolation_days: float = MAX_EXTRAPOLATION_DAYS
    # The fit moved its history onto the phase of its last days (alignment.py): the profile is
    # on today's phase, so the tick restarts its phase evidence from "on time".
    phase_moved: bool = False
    # The series' UTC offset at fitted_at when the fit knew its clock (clock.py): the profile
    # is on that offset, so the tick reads it at (offset now - this). UNKNOWN_OFFSET otherwise.
    utc_offset: int = UNKNOWN_OFFSET

    def __post_init__(self) -> None:
        profile = _readonly(self.profile, PROFILE_FLOAT)
        if profile.shape != (SLOTS_PER_WEEK,):
            raise ValueError(f"profile must have shape ({SLOTS_PER_WEEK},), got {profile.shape}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}")
        object.__setattr__(self, "profile", profile)

    @property
    def is_cold(self) -> bool:
        return self.method == "prior"

    def expected(
        self, minutes: np.ndarray, step_minutes: int = 1, shift_tolerance_minutes: int = 0
    ) -> np.ndarray:
        """Expected count per bucket [m, m + step_minutes).

        shift_tolerance_minutes > 0 returns the max of the baseline within +-that many minutes,
        the value scoring judges against (daylight saving moves the daily pattern by an hour).
        """
        profile = circular_max_filter(self.profile, shift_tolerance_minutes // SLOT_MINUTES)
        return expected_counts(
            profile,
            None,
            float(self.fitted_at),
            self.growth_per_day,
            self.max_extrapolation_days,
            np.asarray(minutes),
            step_minutes,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "profile": self.profile.tolist(),  # exact: float32 values as Python floats
            "dispersion": float(self.dispersion),
            "level_dispersion": float(self.level_dispersion),
            "fitted_at": int(self.fitted_at),
            "history_minutes": int(self.history_minutes),
            "method": self.method,
            "growth_per_day": float(self.growth_per_day),
            "step_minutes": int(self.step_minutes),
            "max_extrapolation_days": float(self.max_extrapolation_days),
            "phase_moved": bool(self.phase_moved),
            "utc_offset": int(self.utc_offset),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        def optional(name: str) -> Any:
            return data.get(name, OPTIONAL[name])

        return cls(
            profile=np.asarray(data["profile"], dtype=np.float64),
            dispersion=float(data["dispersion"]),
            fitted_at=int(data["fitted_at"]),
            history_minutes=int(data["history_minutes"]),
            method=str(data["method"]),
            level_dispersion=float(data.get("level_dispersion", data["dispersion"])),
            growth_per_day=float(optional("growth_per_day")),
            step_minutes=int(optional("step_minutes")),
            max_extrapolation_days=float(optional("max_extrapolation_days")),
            phase_moved=bool(optional("phase_moved")),
            utc_offset=int(optional("utc_offset")),
        )


# What a stored record written before a field existed means by its absence (Baseline.from_dict
# and the tick's bulk read); a missing level_dispersion is the dispersion.
OPTIONAL: dict[str, Any] = {
    "growth_per_day": 0.0,
    "step_minutes": 1,
    "max_extrapolation_days": MAX_EXTRAPOLATION_DAYS,
    "phase_moved": False,
    "utc_offset": UNKNOWN_OFFSET,
}


@dataclass(frozen=True, eq=False)
class BaselineBatch:
    """Many baselines stacked for one vectorised tick; row i is series i."""

    profiles: np.ndarray  # (n, 672) per-minute rates, PROFILE_FLOAT
    dispersion: np.ndarray  # (n,)
    level_dispersion: np.ndarray  # (n,)
    fitted_at: np.ndarray  # (n,) int64 epoch minutes
    growth_per_day: np.ndarray  # (n,)
    cold: np.ndarray  # (n,) bool: on the prior, judge by absolute excess
    max_extrapolation_days: np.ndarray  # (n,)
    phase_moved: np.ndarray  # (n,) bool (Baseline.phase_moved)
    utc_offset: np.ndarray | None = None  # (n,) int64 (Baseline.utc_offset); None: unknown
    shift_tolerance_minutes: int = SHIFT_TOLERANCE_MINUTES
    phase_tolerance_minutes: int = PhaseConfig().phase_tolerance_minutes
    # Judged profiles, filtered where a minute reads them (SlotMaxima): wide (phase unknown)
    # and narrow (read at the series' decided phase, phase.py).
    wide_profiles: SlotMaxima = field(init=False, repr=False)
    narrow_profiles: SlotMaxima = field(init=False, repr=False)

    def __post_init__(self) -> None:
        profiles = _readonly(np.atleast_2d(self.profiles), PROFILE_FLOAT)
        object.__setattr__(self, "profiles", profiles)
        if self.utc_offset is None:
            object.__setattr__(self, "utc_offset", np.full(len(profiles), UNKNOWN_OFFSET))
        for name, dtype in (
            ("dispersion", np.float64),
            ("level_dispersion", np.float64),
            ("fitted_at", np.int64),
            ("growth_per_day", np.float64),
            ("cold", bool),
            ("max_extrapolation_days", np.float64),
            ("phase_moved", bool),
            ("utc_offset", np.int64),
        ):
            object.__setattr__(self, name, _readonly(getattr(self, name), dtype))
        for name, minutes in (
            ("wide_profiles", self.shift_tolerance_minutes),
            ("narrow_profiles", self.phase_tolerance_minutes),
        ):
            object.__setattr__(self, name, SlotMaxima(profiles, max(minutes // SLOT_MINUTES, 0)))

    def __len__(self) -> int:
        return int(self.profiles.shape[0])

    @classmethod
    def from_baselines(
        cls, baselines: list[Baseline], config: DetectorConfig | None = None
    ) -> BaselineBatch:
        if config is None:
            from .config import DetectorConfig  # config.py imports this module

            config = DetectorConfig()
        return cls(
            profiles=np.stack([b.profile for b in baselines])
            if baselines
            else np.zeros((0, SLOTS_PER_WEEK), dtype=PROFILE_FLOAT),
            dispersion=np.array([b.dispersion for b in baselines], dtype=np.float64),
            level_dispersion=np.array([b.level_dispersion for b in baselines], dtype=np.float64),
            fitted_at=np.array([b.fitted_at for b in baselines], dtype=np.int64),
            growth_per_day=np.array([b.growth_per_day for b in baselines], dtype=np.float64),
            cold=np.array([b.is_cold for b in baselines], dtype=bool),
            max_extrapolation_days=np.array(
                [b.max_extrapolation_days for b in baselines], dtype=np.float64
            ),
            phase_moved=np.array([b.phase_moved for b in baselines], dtype=bool),
            utc_offset=np.array([b.utc_offset for b in baselines], dtype=np.int64),
            phase_tolerance_minutes=config.phase.phase_tolerance_minutes,
        )

    def _counts(
        self,
        profiles: np.ndarray | SlotMaxima,
        idx: np.ndarray,
        minutes: np.ndarray,
        step_minutes: int,
    ) -> np.ndarray:
        return expected_counts(
            profiles,
            idx,
            self.fitted_at[idx],
            self.growth_per_day[idx],
            self.max_extrapolation_days[idx],
            minutes,
            step_minutes,
        )

    def _index(self, series_idx: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        idx = np.asarray(series_idx, dtype=np.int64)
        if idx.ndim == 1 and np.ndim(minutes) == 2:
            idx = idx[:, None]
        return idx

    def expected(
        self,
        series_idx: np.ndarray,
        minutes: np.ndarray,
        step_minutes: int = 1,
        offset: np.ndarray | int = 0,
    ) -> np.ndarray:
        """Plain expected counts; series_idx and minutes broadcast, e.g. (n, 1) with (n, w).

        offset: minutes added before reading the profile (a series' daily phase, phase.py).
        """
        minutes = np.asarray(minutes)
        idx = self._index(series_idx, minutes)
        return self._counts(self.profiles, idx, minutes + _column(offset, idx), step_minutes)

    def judged(
        self,
        series_idx: np.ndarray,
        minutes: np.ndarray,
        step_minutes: int = 1,
        offset: np.ndarray | int = 0,
        decided: np.ndarray | bool = False,
    ) -> np.ndarray:
        """What scoring compares against: where a series' phase is decided, the profile at
        that phase (offset) within the narrow tolerance, elsewhere the wide tolerance."""
        minutes = np.asarray(minutes)
        idx = self._index(series_idx, minutes)
        decided = _column(decided, idx)
        wide = self._counts(self.wide_profiles, idx, minutes, step_minutes)
        if not np.any(decided):
            return wide
        narrow = self._counts(
            self.narrow_profiles, idx, minutes + _column(offset, idx), step_minutes
        )
        return np.where(decided, narrow, wide)


def _column(values: np.ndarray | int | bool, idx: np.ndarray) -> np.ndarray:
    """Per-series values shaped like the series index (so they broadcast over minutes)."""
    values = np.asarray(values)
    return values.reshape(idx.shape) if values.ndim and values.size == idx.size else values
