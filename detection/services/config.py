"""The detector configuration used in production (the core's defaults unless overridden)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from detection.core import DetectorConfig


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
