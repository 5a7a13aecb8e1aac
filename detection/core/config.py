"""The detector's settings: one frozen dataclass per stage, each defined by the module that uses
it, composed here into DetectorConfig.

Every setting has one flat name, unique across the stages: the name used by overrides
(DETECTOR_OVERRIDES, `bench/evaluate.py --set`, DetectorConfig.from_dict) and the field's name
in its stage (`config.scoring.p_outage`). Values nobody should tune are module constants next
to their use. The defaults are the values measured in bench/README.md ("Detector settings");
change them there and here together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from .calibration import CalibrationConfig
from .fitting import BaselineConfig
from .level import LevelConfig
from .networks import NetworkConfig
from .phase import PhaseConfig
from .scoring import ScoringConfig
from .state import StateConfig


@dataclass(frozen=True)
class DetectorConfig:
    """All detector settings, by stage: `config.level.level_max_factor`, ..."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    level: LevelConfig = field(default_factory=LevelConfig)
    phase: PhaseConfig = field(default_factory=PhaseConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    networks: NetworkConfig = field(default_factory=NetworkConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    state: StateConfig = field(default_factory=StateConfig)

    def __post_init__(self) -> None:
        too_long = self._windows_beyond(1)
        if too_long:
            # Never used at any spacing (at_spacing): refused rather than dropped unseen.
            raise ValueError(
                "windows longer than level_time_constant_minutes"
                f" ({self.level.level_time_constant_minutes:g}) are never used: {too_long}"
            )

    def _windows_beyond(self, step_minutes: int) -> list[int]:
        """The windows whose buckets sum more minutes than the level's time constant."""
        span = self.level.level_time_constant_minutes
        return [k for k in self.scoring.windows if k * step_minutes > span]

    def to_dict(self) -> dict[str, Any]:
        """Every setting under its flat name (tuples as lists, as JSON has them)."""
        out: dict[str, Any] = {}
        for stage in STAGES:
            part = getattr(self, stage)
            for f in fields(part):
                value = getattr(part, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def at_spacing(self, step_minutes: int) -> DetectorConfig:
        """These settings for buckets of `step_minutes`: the windows (counted in buckets) that
        would sum more minutes than the level's time constant are left out, the shortest
        always kept.

        A sum that long measures what the level tracker exists to follow (the audience's
        wander over hours), not an onset. At 1-minute buckets (the tick) every default window
        is within it and nothing changes; at 5-minute buckets the 60-bucket sum would span
        five hours. On the real dev set without it: NAB (a) 86.7 -> 87.8, alerts outside the
        windows 27 -> 24, (b) 82.9 -> 84.8, leave-one-file-out 77.4 -> 80.8, every window still
        hit (bench/README.md, "The longest sum within the level's time constant").
        """
        beyond = self._windows_beyond(step_minutes)
        if not beyond:
            return self
        windows = self.scoring.windows
        kept = tuple(k for k in windows if k not in beyond) or (min(windows),)
        ratio = self.scoring.min_ratio_outage
        if isinstance(ratio, tuple):  # one floor per window: keep the kept windows' own
            ratio = tuple(r for k, r in zip(windows, ratio, strict=True) if k in kept)
        return replace(self, scoring=replace(self.scoring, windows=kept, min_ratio_outage=ratio))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """The defaults with the given flat names set, each routed to its stage.

        Refuses unknown names (a misspelt override would otherwise change nothing, silently)
        and values of the wrong kind.
        """
        unknown = sorted(set(data) - set(SETTINGS))
        if unknown:
            raise ValueError(
                f"unknown detector setting(s): {', '.join(unknown)}"
                " (see bench/README.md, 'Detector settings')"
            )
        changes: dict[str, dict[str, Any]] = {}
        for name, value in data.items():
            changes.setdefault(SETTINGS[name], {})[name] = _checked(name, value)
        config = cls()
        return replace(
            config,
            **{stage: replace(getattr(config, stage), **kw) for stage, kw in changes.items()},
        )


def _spelled(kind: Any) -> str:
    if get_origin(kind) in (Union, UnionType):
        return " or ".join(_spelled(k) for k in get_args(kind))
    if get_origin(kind) is tuple:
        return "a list of " + _spelled(get_args(kind)[0]).removeprefix("a ") + "s"
    return {int: "a whole number", float: "a number"}.get(kind, getattr(kind, "__name__", "?"))


# The stages, in pipeline order; the stage of every flat name, and the type it takes.
STAGES = tuple(f.name for f in fields(DetectorConfig))
SETTINGS: dict[str, str] = {}
_TYPES: dict[str, tuple[Any, str]] = {}
for _stage in fields(DetectorConfig):
    _cls = get_type_hints(DetectorConfig)[_stage.name]
    _hints = get_type_hints(_cls)
    for _f in fields(_cls):
        if _f.name in SETTINGS:
            raise TypeError(f"detector setting {_f.name!r} is in two stages")
        SETTINGS[_f.name] = _stage.name
        _TYPES[_f.name] = (_hints[_f.name], _spelled(_hints[_f.name]))
del _stage, _cls, _hints, _f


def _accepts(kind: Any, value: Any) -> bool:
    if get_origin(kind) in (Union, UnionType):
        return any(_accepts(k, value) for k in get_args(kind))
    if get_origin(kind) is tuple:
        return isinstance(value, tuple) and all(_accepts(get_args(kind)[0], v) for v in value)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _checked(name: str, value: Any) -> Any:
    """The value as its stage keeps it (JSON lists as tuples); ValueError if of another kind."""
    kept = tuple(value) if isinstance(value, list) else value
    kind, spelled = _TYPES[name]
    if not _accepts(kind, kept):
        raise ValueError(f"detector setting {name} must be {spelled}, not {value!r}")
    return kept
