"""The system check detection.E001: a bad DETECTOR_OVERRIDES stops start-up (no database)."""

import pytest

from detection.apps import detector_config_check
from detection.services.config import detector_config


@pytest.fixture(autouse=True)
def fresh_config():
    detector_config.cache_clear()
    yield
    detector_config.cache_clear()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quiet_minute": 20}, "unknown detector setting(s): quiet_minute"),
        ({"confirm_ticks": 2}, "unknown detector setting(s): confirm_ticks"),  # a constant now
        ({"p_outage": "often"}, "p_outage must be a number"),
        ({"windows": [1, 2.5]}, "windows must be a list of whole numbers"),
        ({"min_ratio_outage": [0.3, 0.2]}, "one value or one per window"),
    ],
)
def test_bad_overrides_are_an_error(settings, overrides, message):
    settings.DETECTOR_OVERRIDES = overrides
    errors = detector_config_check()
    assert [e.id for e in errors] == ["detection.E001"]
    assert message in errors[0].msg


def test_good_overrides_pass_and_reach_their_stage(settings):
    settings.DETECTOR_OVERRIDES = {"p_outage": 1e-7, "quiet_minutes": 20, "windows": [1, 5, 60]}
    assert detector_config_check() == []
    config = detector_config()
    assert config.scoring.p_outage == 1e-7
    assert config.state.quiet_minutes == 20
    assert config.scoring.windows == (1, 5, 60)
    # The network gate's settings come from ingestion's.
    assert config.networks.network_window_minutes == settings.REPORT_DEDUP_WINDOW_MINUTES
