"""Detector settings (detection.core.config): stages owned by their modules, flat names."""

import pickle
from dataclasses import fields

import pytest

from detection.core import DetectorConfig
from detection.core.config import SETTINGS, STAGES

DEFAULTS = DetectorConfig()


def changed(value):
    """Another valid value of the same kind."""
    if isinstance(value, tuple):
        return (*value, value[-1] * 2)
    if isinstance(value, int):
        return value + 1
    return value * 0.5 if value else 0.25


def test_each_stage_is_defined_by_the_module_that_uses_it():
    owners = {
        "baseline": "detection.core.fitting",
        "level": "detection.core.level",
        "phase": "detection.core.phase",
        "scoring": "detection.core.scoring",
        "networks": "detection.core.networks",
        "state": "detection.core.state",
        "calibration": "detection.core.calibration",
    }
    assert set(STAGES) == set(owners)
    for stage, module in owners.items():
        assert type(getattr(DEFAULTS, stage)).__module__ == module


def test_names_are_unique_across_stages_and_few():
    names = [f.name for stage in STAGES for f in fields(getattr(DEFAULTS, stage))]
    assert len(names) == len(set(names)) == len(SETTINGS)
    # Issue 12 item 5: half as many as the 57-66 of one flat class.
    assert len(SETTINGS) <= 28


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_flat_name_reaches_its_stage_and_comes_back(name):
    stage = SETTINGS[name]
    default = getattr(getattr(DEFAULTS, stage), name)
    value = changed(default)
    config = DetectorConfig.from_dict({name: list(value) if isinstance(value, tuple) else value})
    assert getattr(getattr(config, stage), name) == value
    flat = config.to_dict()
    assert flat[name] == (list(value) if isinstance(value, tuple) else value)
    assert {k: v for k, v in flat.items() if k != name} == {
        k: v for k, v in DEFAULTS.to_dict().items() if k != name
    }
    assert DetectorConfig.from_dict(flat) == config


def test_defaults_round_trip_and_survive_pickling():
    assert DetectorConfig.from_dict(DEFAULTS.to_dict()) == DEFAULTS
    assert DetectorConfig.from_dict({}) == DEFAULTS
    assert pickle.loads(pickle.dumps(DEFAULTS)) == DEFAULTS  # bench workers get it pickled
    assert hash(DEFAULTS) == hash(DetectorConfig())


def test_unknown_names_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown detector setting\(s\): p_outge, quiet_minute"):
        DetectorConfig.from_dict({"quiet_minute": 20, "p_outage": 1e-7, "p_outge": 1e-7})
    # Settings that became constants (bench/README.md, "Detector settings") are unknown now.
    for gone in ("confirm_ticks", "hgb_max_iter", "min_excess_possible", "phase_margin"):
        with pytest.raises(ValueError, match="unknown detector setting"):
            DetectorConfig.from_dict({gone: 1})


@pytest.mark.parametrize(
    "data",
    [
        {"p_outage": "1e-6"},
        {"p_outage": True},
        {"quiet_minutes": 15.5},
        {"windows": 60},
        {"windows": [1, 2.5]},
        {"windows": []},
        {"windows": [0, 5]},
        {"min_ratio_outage": [0.3, 0.2]},  # not one per window
        {"min_ratio_outage": [0.3, "a", 0.3, 0.3, 0.3, 0.3, 0.3]},
    ],
)
def test_values_of_the_wrong_kind_are_refused(data):
    # The message names the setting (not some ValueError from deeper down).
    [name] = data
    with pytest.raises(ValueError, match=rf"^(detector setting )?{name} must be "):
        DetectorConfig.from_dict(data)


def test_relative_floor_per_window():
    ratios = [0.3, 0.3, 0.3, 0.3, 0.25, 0.2, 0.15]
    config = DetectorConfig.from_dict({"min_ratio_outage": ratios})
    assert config.scoring.ratio_by_window() == tuple(ratios)
    assert DEFAULTS.scoring.ratio_by_window() == (0.3,) * len(DEFAULTS.scoring.windows)


def test_windows_longer_than_the_levels_time_constant_are_left_out_at_coarse_spacing():
    # 120 minutes: every default window at 1 and 2 minutes, not the 60-bucket sum at 5.
    assert DEFAULTS.at_spacing(1) is DEFAULTS
    assert DEFAULTS.at_spacing(2) is DEFAULTS
    assert DEFAULTS.at_spacing(5).scoring.windows == (1, 2, 3, 5, 10, 20)
    assert DEFAULTS.at_spacing(60).scoring.windows == (1, 2)
    assert DEFAULTS.at_spacing(5).level == DEFAULTS.level
    # A floor per window stays with its window.
    ratios = [0.3, 0.3, 0.3, 0.3, 0.25, 0.2, 0.15]
    coarse = DetectorConfig.from_dict({"min_ratio_outage": ratios}).at_spacing(5)
    assert coarse.scoring.ratio_by_window() == (0.3, 0.3, 0.3, 0.3, 0.25, 0.2)
    # The shortest window stays even when none fits.
    assert DetectorConfig.from_dict({"windows": [30, 20]}).at_spacing(60).scoring.windows == (20,)
    # A window that would not be used even at 1-minute buckets is refused, not dropped unseen.
    with pytest.raises(ValueError, match="never used"):
        DetectorConfig.from_dict({"windows": [1, 180]})
    with pytest.raises(ValueError, match="never used"):
        DetectorConfig.from_dict({"level_time_constant_minutes": 30.0})
