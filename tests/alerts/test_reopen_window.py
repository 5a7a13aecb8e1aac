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


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("reopen_minutes", "OUTAGE_REOPEN_MINUTES"),
        # Beat OUTAGE_MIN_NETWORKS silently, and could set the network window away from
        # ingestion's dedup window (contributor tester, forty-sixth session).
        ("min_networks_outage", "OUTAGE_MIN_NETWORKS"),
        ("network_window_minutes", "REPORT_DEDUP_WINDOW_MINUTES"),
    ],
)
def test_a_setting_of_its_own_cannot_be_overridden_behind_its_back(name, variable):
    result = manage("check", env={**PRODUCTION, "DETECTOR_OVERRIDES": f'{{"{name}": 2}}'})
    assert result.returncode != 0
    assert f"Set {variable}" in result.stderr
