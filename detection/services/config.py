"""The detector configuration used in production (the core's defaults unless overridden)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from detection.core import DetectorConfig
from detection.core.networks import BEYOND_ONE_HOST


@cache
def detector_config() -> DetectorConfig:
    # The network gate must know how often ingestion lets one network count (its dedup
    # window); the minimum number of networks is a setting of its own.
    from_settings = {
        "network_window_minutes": settings.REPORT_DEDUP_WINDOW_MINUTES,
        "min_networks_outage": settings.OUTAGE_MIN_NETWORKS,
        # Shared with alerts, which thread a reopened outage's messages (settings.py).
        "reopen_minutes": settings.OUTAGE_REOPEN_MINUTES,
    }
    return DetectorConfig.from_dict(
        {**DetectorConfig().to_dict(), **from_settings, **settings.DETECTOR_OVERRIDES}
    )


def listing_sites() -> int:
    """The distinct sites (reports.networks) an outage's counted reports of one country, or
    of one problem, must come from for the outage to list it: more than one host can hold
    (BEYOND_ONE_HOST), and at least as many as an outage needs (an operator may set more)."""
    return max(detector_config().networks.min_networks_outage, BEYOND_ONE_HOST)
