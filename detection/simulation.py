"""Labelled synthetic report series for tests, the evaluation bench and live demo traffic.

Pure numpy, seeded. Counts are distinct reporters per minute; `raw_values` also contains
floods by single reporters (which distinct counting reduces to +1).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from detection.core.clock import Clock

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# 2026-11-02 00:00 UTC, a Monday.
DEFAULT_START_MINUTE = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp()) // 60
_EPOCH_MONDAY_OFFSET = 3 * MINUTES_PER_DAY  # 1970-01-01 was a Thursday


@dataclass(frozen=True)
class SeriesSpec:
    """The hidden truth of one series' normal behaviour."""

    base_rate: float  # mean distinct reporters per minute over the first week
    dispersion: float  # NB alpha of minute counts (var = mu + alpha mu^2)
    utc_offset_minutes: int  # local time of the audience
    peak_hour: float  # local hour of the daily peak
    peak_sharpness: float  # exponent of the daily bump (higher = narrower peak)
    night_ratio: float  # trough / peak
    weekend_factor: float  # Saturday and Sunday volume relative to weekdays
    growth_per_week: float  # log growth per week
    level_noise: float  # sd of the slow multiplicative level wander (model-free error)
    dst_minute: int  # from this minute the local clock is shifted ...
    dst_shift_minutes: int  # ... by this much (+-60)


@dataclass(frozen=True)
class Outage:
    start: int  # epoch minute of the first affected minute
    end: int  # epoch minute after the last affected minute
    extra_reports: int  # extra distinct reporters in [start, end)
    shape: str = "sharp"  # "sharp" or "ramp"

    def as_label(self) -> list[int]:
        return [self.start, self.end, self.extra_reports]


@dataclass(frozen=True, eq=False)
class SimulatedRates:
    """Intensities without noise: what live demo traffic is drawn from."""

    spec: SeriesSpec
    minutes: np.ndarray  # (t,) int64 epoch minutes
    base_rate: np.ndarray  # (t,) normal expected reporters per minute (no incidents)
    rate: np.ndarray  # (t,) including outages (bumps, gaps and floods are drawn later)
    outages: tuple[Outage, ...]  # extra_reports = expected extra


@dataclass(frozen=True, eq=False)
class SimulatedSeries:
    spec: SeriesSpec
    minutes: np.ndarray  # (t,) int64
    values: np.ndarray  # (t,) int64 distinct reporters per minute
    raw_values: np.ndarray  # (t,) int64 raw reports (floods by one reporter included)
    base_rate: np.ndarray  # (t,) normal expected reporters per minute
    outages: tuple[Outage, ...]  # extra_reports = realised extra distinct reporters
    gaps: tuple[tuple[int, int], ...]  # ingestion down: [start, end) all zero
    bumps: tuple[tuple[int, int], ...]  # harmless: (minute, extra reporters)
    floods: tuple[tuple[int, int], ...]  # one reporter: (minute, raw reports)

    @property
    def labels(self) -> list[list[int]]:
        return [o.as_label() for o in self.outages]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def random_spec(
    rng: np.random.Generator,
    *,
    start_minute: int,
    n_minutes: int,
    base_rate: float | None = None,
) -> SeriesSpec:
    # Drawn in this order so that a seed keeps giving the same series.
    base = base_rate if base_rate is not None else _log_uniform(rng, 0.1, 100.0)
    dispersion = _log_uniform(rng, 0.01, 0.15)
    utc_offset = int(rng.integers(-8, 10)) * 60
    return SeriesSpec(
        base_rate=base,
        dispersion=dispersion,
        utc_offset_minutes=utc_offset,
        peak_hour=float(rng.uniform(11.0, 21.0)),
        peak_sharpness=float(rng.uniform(1.0, 3.0)),
        night_ratio=float(rng.uniform(0.1, 0.5)),
        weekend_factor=float(rng.uniform(0.6, 0.95)),
        growth_per_week=float(rng.uniform(-0.02, 0.06)),
        level_noise=float(rng.uniform(0.02, 0.06)),
        dst_minute=_local_2am(start_minute + int(rng.uniform(0.4, 0.8) * n_minutes), utc_offset),
        dst_shift_minutes=int(rng.choice([-60, 60])),
    )


def series_clock(spec: SeriesSpec) -> Clock:
    """The series' local clock, as the product knows it from the series' country."""
    offset = spec.utc_offset_minutes
    return Clock(
        np.array([spec.dst_minute], dtype=np.int64),
        np.array([offset, offset + spec.dst_shift_minutes], dtype=np.int64),
    )


def _local_2am(minute: int, utc_offset: int) -> int:
    """The clocks change at night (02:00 local), not in the middle of the evening peak."""
    local_midnight = (minute + utc_offset) // MINUTES_PER_DAY * MINUTES_PER_DAY
    return local_midnight + 120 - utc_offset


def _shape(spec: SeriesSpec, local: np.ndarray) -> np.ndarray:
    """Daily and weekly pattern at local epoch minutes (unnormalised)."""
    hour = np.mod(local, MINUTES_PER_DAY) / 60.0
    bump = (0.5 * (1 + np.cos(2 * np.pi * (hour - spec.peak_hour) / 24.0))) ** spec.peak_sharpness
    daily = spec.night_ratio + (1 - spec.night_ratio) * bump
    dow = np.mod(local + _EPOCH_MONDAY_OFFSET, MINUTES_PER_WEEK) // MINUTES_PER_DAY
    return daily * np.where(dow >= 5, spec.weekend_factor, 1.0)


def _level_wander(spec: SeriesSpec, rng: np.random.Generator, n_minutes: int) -> np.ndarray:
    """Slow AR(1) log-level on an hourly grid (about half a day memory), linearly interpolated."""
    hours = n_minutes // 60 + 2
    phi = np.exp(-1 / 12)
    eps = rng.normal(0, spec.level_noise * np.sqrt(1 - phi**2), hours)
    walk = np.empty(hours)
    walk[0] = rng.normal(0, spec.level_noise)
    for i in range(1, hours):
        walk[i] = phi * walk[i - 1] + eps[i]
    return np.interp(np.arange(n_minutes) / 60.0, np.arange(hours), walk)


def expected_rates(spec: SeriesSpec, minutes: np.ndarray, start_minute: int) -> np.ndarray:
    """Normal reporters per minute (seasonality, DST, growth; no wander, noise or incidents)."""
    minutes = np.asarray(minutes, dtype=np.int64)
    week = np.arange(MINUTES_PER_WEEK) + start_minute + spec.utc_offset_minutes
    norm = spec.base_rate / _shape(spec, week).mean()
    local = minutes + series_clock(spec).at(minutes)
    growth = np.exp(spec.growth_per_week * (minutes - start_minute) / MINUTES_PER_WEEK)
    return norm * _shape(spec, local) * growth


def _outage_profile(rng: np.random.Generator, duration: int, shape: str) -> np.ndarray:
    """Relative intensity over the outage minutes: onset (sharp or ramp), plateau, decay."""
    t = np.arange(duration, dtype=np.float64)
    plateau_end = duration * rng.uniform(0.2, 0.6)
    if shape == "ramp":
        ramp = max(3.0, min(30.0, duration * rng.uniform(0.2, 0.5)))
        rise = np.minimum(1.0, (t + 1) / ramp)
        plateau_end = max(plateau_end, ramp)
    else:
        rise = np.ones(duration)
    tail = max(duration - plateau_end, 1.0)
    decay = np.where(t < plateau_end, 1.0, np.exp(-np.log(10) * (t - plateau_end) / tail))
    return rise * decay


def _place(
    rng: np.random.Generator, n: int, lengths: list[int], lo: int, hi: int, taken: list
) -> list[int]:
    """Random non-overlapping starts (with 6 h spacing to other incidents), best effort."""
    starts: list[int] = []
    for length in lengths[:n]:
        for _ in range(50):
            s = int(rng.integers(lo, max(lo + 1, hi - length)))
            if all(s + length + 360 <= a or s >= b + 360 for a, b in taken):
                taken.append((s, s + length))
                starts.append(s)
                break
    return starts


def _plan_outages(
    rng: np.random.Generator,
    base: np.ndarray,
    start_minute: int,
    outages_per_week: float,
    taken: list,
) -> tuple[np.ndarray, tuple[Outage, ...]]:
    n_minutes = len(base)
    count = rng.poisson(outages_per_week * n_minutes / MINUTES_PER_WEEK)
    durations = [round(_log_uniform(rng, 5, 180)) for _ in range(count)]
    starts = _place(rng, count, durations, 60, n_minutes - 10, taken)
    extra = np.zeros(n_minutes)
    outages = []
    for s, d in zip(starts, durations, strict=False):
        d = min(d, n_minutes - s)
        shape = "ramp" if rng.random() < 0.4 else "sharp"
        # Reports during an outage scale with the active audience, with a floor: even a tiny
        # service's outage brings a handful of people per minute.
        peak = max(rng.uniform(1.5, 5.0), _log_uniform(rng, 0.5, 20.0) * base[s])
        intensity = peak * _outage_profile(rng, d, shape)
        extra[s : s + d] += intensity
        outages.append(
            Outage(start_minute + s, start_minute + s + d, round(float(intensity.sum())), shape)
        )
    return extra, tuple(outages)


def simulate_rates(
    *,
    seed: int,
    weeks: float = 4.0,
    base_rate: float | None = None,
    start_minute: int = DEFAULT_START_MINUTE,
    outages_per_week: float = 1.0,
) -> SimulatedRates:
    """Noise-free intensities and outage windows (for generating live reports)."""
    rates, _rng, _taken = _rates(seed, weeks, base_rate, start_minute, outages_per_week)
    return rates


def _rates(
    seed: int, weeks: float, base_rate: float | None, start_minute: int, outages_per_week: float
) -> tuple[SimulatedRates, np.random.Generator, list]:
    rng = np.random.default_rng(seed)
    n_minutes = round(weeks * MINUTES_PER_WEEK)
    spec = random_spec(rng, start_minute=start_minute, n_minutes=n_minutes, base_rate=base_rate)
    minutes = start_minute + np.arange(n_minutes, dtype=np.int64)
    base = expected_rates(spec, minutes, start_minute) * np.exp(_level_wander(spec, rng, n_minutes))
    taken: list = []
    extra, outages = _plan_outages(rng, base, start_minute, outages_per_week, taken)
    return SimulatedRates(spec, minutes, base, base + extra, outages), rng, taken


def simulate_series(
    *,
    seed: int,
    weeks: float = 4.0,
    base_rate: float | None = None,
    start_minute: int = DEFAULT_START_MINUTE,
    outages_per_week: float = 1.0,
    gaps_per_week: float = 0.5,
    bumps_per_day: float = 1.0,
    floods_per_week: float = 1.0,
) -> SimulatedSeries:
    """One labelled per-minute series of distinct reporters (and its raw-count variant)."""
    rates, rng, taken = _rates(seed, weeks, base_rate, start_minute, outages_per_week)
    n = len(rates.minutes)
    spec = rates.spec
    gamma = rng.gamma(1.0 / spec.dispersion, spec.dispersion, n)
    normal = rng.poisson(rates.base_rate * gamma)
    outage_extra = rng.poisson(rates.rate - rates.base_rate)
    values = normal + outage_extra

    outages = tuple(
        replace(
            o, extra_reports=int(outage_extra[o.start - start_minute : o.end - start_minute].sum())
        )
        for o in rates.outages
    )
    bumps = []
    for m in rng.integers(0, n, rng.poisson(bumps_per_day * n / MINUTES_PER_DAY)):
        size = int(rng.integers(1, 6))
        span = int(rng.integers(1, 3))
        for j in range(span):
            if m + j < n:
                values[m + j] += size // span + (j < size % span)
        bumps.append((start_minute + int(m), size))
    raw = values.copy()
    floods = []
    for m in rng.integers(0, n, rng.poisson(floods_per_week * n / MINUTES_PER_WEEK)):
        burst = int(rng.integers(20, 200))
        raw[m] += burst
        values[m] += 1  # the flooder is one more distinct reporter, once
        floods.append((start_minute + int(m), burst))

    n_gaps = rng.poisson(gaps_per_week * n / MINUTES_PER_WEEK)
    lengths = [int(rng.integers(30, 121)) for _ in range(n_gaps)]
    gaps = []
    for s, length in zip(_place(rng, n_gaps, lengths, 0, n, taken), lengths, strict=False):
        values[s : s + length] = 0
        raw[s : s + length] = 0
        gaps.append((start_minute + s, start_minute + s + length))
    return SimulatedSeries(
        spec=spec,
        minutes=rates.minutes,
        values=values.astype(np.int64),
        raw_values=raw.astype(np.int64),
        base_rate=rates.base_rate,
        outages=outages,
        gaps=tuple(gaps),
        bumps=tuple(bumps),
        floods=tuple(floods),
    )


def iso_minute(minute: int) -> str:
    """Epoch minute -> '2026-11-02T14:05:00Z'."""
    return dt.datetime.fromtimestamp(int(minute) * 60, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_series_csv(path: str | Path, minutes: np.ndarray, values: np.ndarray) -> None:
    """CSV with header `timestamp,value` (the detect_series command's input format)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "value"])
        for m, v in zip(minutes, values, strict=True):
            writer.writerow([iso_minute(int(m)), int(v)])


def write_labels_json(path: str | Path, series: SimulatedSeries) -> None:
    """Labels: outages as [start, end, extra_reports] epoch minutes, plus ISO times and decoys."""
    payload = {
        "outages": [
            {
                "start": iso_minute(o.start),
                "end": iso_minute(o.end),
                "start_minute": o.start,
                "end_minute": o.end,
                "extra_reports": o.extra_reports,
                "shape": o.shape,
            }
            for o in series.outages
        ],
        "labels": series.labels,
        "gaps": [[iso_minute(s), iso_minute(e)] for s, e in series.gaps],
        "bumps": [[iso_minute(m), size] for m, size in series.bumps],
        "floods": [[iso_minute(m), size] for m, size in series.floods],
        "spec": asdict(series.spec),
    }
    Path(path).write_text(json.dumps(payload, indent=2))
