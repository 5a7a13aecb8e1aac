"""Every bar that must prove more than one host is the one constant, BEYOND_ONE_HOST.

One host holds up to ONE_HOST_SITES sites (its IPv4, its own IPv6 /48, a tunnel broker's /48, a
phone's network). Each bar was once set a site short of that, one at a time, and one host then
made series, outages, countries or hidden comments at will (abuse testers, forty-ninth to
fifty-first sessions); spelled once, the bars move together.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from detection.core import DetectorConfig
from detection.core.networks import BEYOND_ONE_HOST, ONE_HOST_SITES
from reports.models import COMMENT_HIDE_AFTER_FLAGS

BASE_DIR = Path(__file__).resolve().parents[1]
_BARS = ("OUTAGE_MIN_NETWORKS", "SERIES_MIN_SITES", "SERIES_MIN_COUNTED")


def _settings_defaults() -> list[str]:
    """The settings as a fresh process reads them with none of the bars in its environment."""
    env = {k: v for k, v in os.environ.items() if k not in _BARS}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from outagewatch import settings as s;"
            "print(s.OUTAGE_MIN_NETWORKS, s.SERIES_MIN_SITES)",
        ],
        cwd=BASE_DIR,
        env={**env, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_bar_is_one_site_more_than_one_host_holds():
    assert BEYOND_ONE_HOST == ONE_HOST_SITES + 1


def test_settings_default_to_the_bar():
    assert _settings_defaults() == [str(BEYOND_ONE_HOST)] * 2


def test_the_detectors_own_default_is_the_bar():
    assert DetectorConfig().networks.min_networks_outage == BEYOND_ONE_HOST


def test_comments_hide_at_the_bar():
    # Counted in blocks (IPv4 /16, IPv6 /32), which one host reaches as many of as sites.
    assert COMMENT_HIDE_AFTER_FLAGS == BEYOND_ONE_HOST
