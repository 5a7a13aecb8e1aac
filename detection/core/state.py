"""The outage state machine as a pure, vectorised transition function with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .config import DetectorConfig


@dataclass(frozen=True)
class StateConfig:
    """Settings of the outage state machine (part of DetectorConfig; flat override names)."""

    # Consecutive calm minutes (every short window at level 0) needed to resolve; one dip does
    # not close. A short window holds a busy minute for CALM_MAX_WINDOW - 1 = 4 minutes after
    # it, and reports that stop within a minute leave that minute busy too: 10 calm minutes
    # resolve within 15 minutes of the reports stopping at any second of a minute, what
    # issue 12 asks of the live path. With 15 here `simulate live` resolved after 19, with 11
    # after 15 min 11 s (bench/live_path.py; bench/README.md, "Resolved within 15 minutes of
    # the reports stopping"). At 5-minute buckets: two buckets.
    quiet_minutes: int = 10
    # A re-fire within this many minutes of resolution continues the same outage (alerts send
    # "problems again" on the same thread); the evaluation merges alarms this close into one
    # event too. Not measured; production sets it from OUTAGE_REOPEN_MINUTES, which the alerts
    # app reads as well.
    reopen_minutes: int = 30


# Consecutive level-2 ticks needed to open: 1, open on the first, because detection delay is a
# target (median <= 2 minutes, bench/README.md); a second tick would add a minute to every one.
CONFIRM_TICKS = 1

# Bumped when a stored field changes meaning; new fields need no bump (they start initial).
# 2: the calibration became an empirical tail (calibration.py); rows of another width start
# afresh.
STATE_VERSION = 2
STATE_OK = 0
STATE_POSSIBLE = 1
STATE_OUTAGE = 2
NO_MINUTE = -1


@dataclass(frozen=True, eq=False)
class DetectorState:
    """Per-series memory between ticks; the Django side stores these numbers per series."""

    state: np.ndarray  # (n,) int8: 0 ok, 1 possible problems, 2 outage open
    hot_ticks: np.ndarray  # (n,) int32: consecutive level-2 ticks while not open
    quiet_minutes: np.ndarray  # (n,) int32: consecutive minutes at level 0 while open
    onset: np.ndarray  # (n,) int64: first minute of the current/last outage, -1 none
    last_hot: np.ndarray  # (n,) int64: newest bucket of the outage at level >= 1, -1 none
    resolved_at: np.ndarray  # (n,) int64: minute the last outage was resolved, -1 none
    # Short-term level tracking (level.py), carried here so one object is stored per series.
    level_observed: np.ndarray  # (n,) float64
    level_expected: np.ndarray  # (n,) float64
    # (n, h) level factors in force at the previous h ticks, oldest first, NaN unknown
    # (level.window_factors): the long sums are judged at the level before they began.
    level_history: np.ndarray
    # Daily phase (phase.py): the phase code in force, the evidence for the shifted phases and
    # the baseline (fitted_at) it refers to.
    phase: np.ndarray  # (n,) int8
    phase_minus: np.ndarray  # (n,) float64
    phase_plus: np.ndarray  # (n,) float64
    phase_basis: np.ndarray  # (n,) int64
    # (n, calibration.ROW) the series' own picture of its surprises, per band (calibration.py).
    calibration: np.ndarray

    @classmethod
    def initial(cls, n: int) -> DetectorState:
        none = np.full(n, NO_MINUTE, dtype=np.int64)
        return cls(
            state=np.zeros(n, dtype=np.int8),
            hot_ticks=np.zeros(n, dtype=np.int32),
            quiet_minutes=np.zeros(n, dtype=np.int32),
            onset=none,
            last_hot=none.copy(),
            resolved_at=none.copy(),
            level_observed=np.zeros(n),
            level_expected=np.zeros(n),
            level_history=np.zeros((n, 0)),
            phase=np.zeros(n, dtype=np.int8),
            phase_minus=np.zeros(n),
            phase_plus=np.zeros(n),
            phase_basis=none.copy(),
            calibration=_calibration_initial(n),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """One plain, JSON-ready record per series: what the Django side stores as one field.

        Versioned by STATE_VERSION; from_records fills any field a record lacks with its
        initial value, so a new state field needs no migration and no edit outside the core.
        """
        columns = {f.name: _plain_column(getattr(self, f.name)) for f in fields(self)}
        n = len(self.state)
        return [
            {"version": STATE_VERSION, **{name: col[i] for name, col in columns.items()}}
            for i in range(n)
        ]

    @classmethod
    def from_records(cls, records: list[dict[str, Any] | None]) -> DetectorState:
        """The state of len(records) series; None or {} is a series never ticked."""
        initial = cls.initial(len(records))
        values = {}
        for f in fields(cls):
            default = getattr(initial, f.name)
            given = [r.get(f.name) if r else None for r in records]
            if f.name == "calibration":
                given = [_calibration_row(v) if v else None for v in given]
            if f.name in _ROWS:  # per-series arrays of any length (level_history, calibration)
                values[f.name] = _stack_rows(given, default, right=f.name in _NEWEST_LAST)
            else:
                column = default.copy()
                for i, value in enumerate(given):
                    if value is not None:
                        column[i] = value
                values[f.name] = column
        return cls(**values)

    def take(self, idx: np.ndarray | slice) -> DetectorState:
        return DetectorState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def with_level(
        self, level_observed: np.ndarray, level_expected: np.ndarray, level_history: np.ndarray
    ) -> DetectorState:
        return replace(
            self,
            level_observed=np.asarray(level_observed, dtype=np.float64),
            level_expected=np.asarray(level_expected, dtype=np.float64),
            level_history=np.asarray(level_history, dtype=np.float64),
        )

    def with_calibration(self, calibration: np.ndarray) -> DetectorState:
        return replace(self, calibration=np.asarray(calibration, dtype=np.float64))

    def with_phase(
        self,
        phase: np.ndarray,
        phase_minus: np.ndarray,
        phase_plus: np.ndarray,
        phase_basis: np.ndarray,
    ) -> DetectorState:
        return replace(
            self,
            phase=np.asarray(phase, dtype=np.int8),
            phase_minus=np.asarray(phase_minus, dtype=np.float64),
            phase_plus=np.asarray(phase_plus, dtype=np.float64),
            phase_basis=np.asarray(phase_basis, dtype=np.int64),
        )


def _calibration_initial(n: int) -> np.ndarray:
    # Imported here: calibration.py imports config.py, which imports this module.
    from .calibration import initial_bands

    return initial_bands(n)


def _calibration_row(values: list[Any]) -> list[float]:
    """A stored calibration row in the current layout (calibration.conform_bands: an earlier
    layout keeps its history, any other starts afresh)."""
    from .calibration import conform_bands

    row = np.asarray([[np.nan if v is None else v for v in values]], dtype=np.float64)
    return conform_bands(row)[0].tolist()


# Fields that hold a row of numbers per series rather than one number.
_ROWS = ("level_history", "calibration")
# Rows whose newest value is last (level_history, oldest first): a shorter one is padded on
# the left, so its newest stays the newest beside longer ones (review, forty-third session:
# padded on the right, a 60-bucket sum was judged at a level three ticks old).
_NEWEST_LAST = ("level_history",)


def _plain_column(values: np.ndarray) -> list[Any]:
    """Python numbers (NaN as None, which JSON can carry)."""
    if values.ndim == 1:
        return values.tolist()
    return [[None if v != v else v for v in row] for row in values.tolist()]


def _stack_rows(given: list[Any], default: np.ndarray, *, right: bool = False) -> np.ndarray:
    """(n, w) from per-series lists, NaN for None; w from the longest (0 if none stored). A
    shorter list fills the row's start, or its end where `right`."""
    width = max((len(v) for v in given if v), default=default.shape[1] if default.ndim == 2 else 0)
    out = np.full((len(given), width), np.nan)
    if default.ndim == 2 and default.shape[1] == width:
        out[:] = default
    for i, row in enumerate(given):
        if row:
            at = width - len(row) if right else 0
            out[i, at : at + len(row)] = [np.nan if v is None else v for v in row]
    return out


@dataclass(frozen=True, eq=False)
class Transition:
    state: DetectorState
    opened: np.ndarray  # (n,) bool: a new outage starts (onset in state.onset)
    reopened: np.ndarray  # (n,) bool: the previous outage continues (same onset)
    resolved: np.ndarray  # (n,) bool: outage over; it ended at state.last_hot + step


def transition(
    prev: DetectorState,
    level: np.ndarray,
    minute: np.ndarray | int,
    onset_candidate: np.ndarray | int,
    config: DetectorConfig,
    step_minutes: int = 1,
    calm_level: np.ndarray | None = None,
    hot_span: np.ndarray | None = None,
    unheard: np.ndarray | bool = False,
    in_excess: np.ndarray | None = None,
) -> Transition:
    """Advance every series by one tick.

    level: (n,) scoring level of the newest bucket; minute: that bucket's start;
    onset_candidate: first minute of the current excess run (used only when opening);
    calm_level: level over the short windows, which decides "back to normal" (default: level);
    hot_span: buckets summed by the shortest window at level 2 (default: 1);
    unheard: (n,) or one for all: the bucket is one whose reports did not reach us (our own
    outage, told by the caller): not quiet, so an open outage's count of quiet minutes waits.
    in_excess: (n,) whether the newest bucket itself is above its expectation
    (scoring.newest_in_excess; default: every elevated one is): an open outage's last hot
    bucket, where it ends, is the last one with excess reports of its own. A short window
    still holds a burst's buckets for up to CALM_MAX_WINDOW - 1 buckets after it, and its
    end, duration and counts ran that much past the burst.
    """
    level = np.asarray(level)
    minute = np.broadcast_to(np.asarray(minute, dtype=np.int64), level.shape)
    onset_candidate = np.broadcast_to(np.asarray(onset_candidate, dtype=np.int64), level.shape)
    hot = level >= 2
    calm = level if calm_level is None else np.asarray(calm_level)
    in_outage = prev.state == STATE_OUTAGE
    own = True if in_excess is None else np.asarray(in_excess, bool)

    # While open: count minutes back at baseline; any elevated bucket restarts the count, so
    # one dip does not close an outage.
    quiet = np.where(in_outage & (calm == 0), prev.quiet_minutes + step_minutes, 0)
    quiet = np.where(in_outage & unheard, prev.quiet_minutes, quiet)
    resolved = in_outage & (quiet >= config.state.quiet_minutes)

    # Opening also needs the short windows elevated right after an outage: the long sums
    # still hold its reports (for up to the longest window) and must not reopen it while
    # volume is already normal. Elsewhere a slow outage seen only by the long sums may open.
    after = (prev.resolved_at != NO_MINUTE) & (
        minute - prev.resolved_at <= max(config.scoring.windows) * step_minutes
    )
    # Past the reopen window the evidence must also be news: a window reaching back into the
    # outage still holds its reports (a story's next small wave plus that residue read as a
    # fresh outage, one alert after another on the real files), so only windows that begin
    # after its last elevated bucket may open another. Within the reopen window any evidence
    # continues it: an outage back after a lull is the same one (blocked, the simulator's
    # outages that paused lost their rest; bench/README.md, 2026-11-30 sixth session).
    span = np.ones_like(minute) if hot_span is None else np.asarray(hot_span, dtype=np.int64)
    new = (span - 1) * step_minutes < minute - prev.last_hot
    recent = (prev.resolved_at != NO_MINUTE) & (
        minute - prev.resolved_at <= config.state.reopen_minutes
    )
    hot = hot & (((calm >= 1) & (new | recent)) | ~after)
    hot_ticks = np.where(~in_outage & hot, prev.hot_ticks + 1, 0)
    fire = ~in_outage & hot & (hot_ticks >= CONFIRM_TICKS)
    reopened = fire & recent
    opened = fire & ~recent

    state = np.where(
        fire | (in_outage & ~resolved),
        STATE_OUTAGE,
        np.where(~in_outage & (level >= 1) & (calm >= 1), STATE_POSSIBLE, STATE_OK),
    ).astype(np.int8)
    new = replace(
        prev,
        state=state,
        hot_ticks=np.where(fire, 0, hot_ticks).astype(np.int32),
        quiet_minutes=np.where(resolved, 0, quiet).astype(np.int32),
        onset=np.where(opened, onset_candidate, prev.onset).astype(np.int64),
        last_hot=np.where(fire | (in_outage & (calm >= 1) & own), minute, prev.last_hot).astype(
            np.int64
        ),
        resolved_at=np.where(resolved, minute, prev.resolved_at).astype(np.int64),
    )
    return Transition(state=new, opened=opened, reopened=reopened, resolved=resolved)
