"""One setting for the reopen window, read by detection and by alerts."""

from __future__ import annotations

import pytest

from detection.services.config import detector_config
from tests.test_settings import PRODUCTION, manage


@pytest.fixture
def fresh_config():
    detector_config.cache_clear()
    yield
    detector_config.cache_clear()


def test_the_detector_reopens_within_outage_reopen_minutes(settings, fresh_config):
    settings.OUTAGE_REOPEN_MINUTES = 45
    assert detector_config().state.reopen_minutes == 45


def test_the_window_cannot_be_set_behind_alerts_back():
    result = manage("check", env={**PRODUCTION, "DETECTOR_OVERRIDES": '{"reopen_minutes": 10}'})
    assert result.returncode != 0
    assert "Set OUTAGE_REOPEN_MINUTES" in result.stderr
