from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = "Outage detection"

    def ready(self) -> None:
        from detection import signals

        checks.register(detector_config_check)
        signals.connect()


def detector_config_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """DETECTOR_OVERRIDES is read at the first tick; a typo must stop start-up instead."""
    from django.conf import settings

    from detection.services.config import detector_config

    detector_config.cache_clear()
    try:
        config = detector_config()
    except (TypeError, ValueError) as exc:
        return [checks.Error(f"DETECTOR_OVERRIDES: {exc}", id="detection.E001")]
    history = config.baseline.history_days
    if history >= settings.BUCKET_RETENTION_DAYS:
        # The nightly purge would delete the minutes the next refit reads: every baseline
        # would be fitted on part of its history, without a word.
        return [
            checks.Error(
                f"BUCKET_RETENTION_DAYS is {settings.BUCKET_RETENTION_DAYS}: it must be more "
                f"than the {history} days of history each baseline is fitted on.",
                id="detection.E002",
            )
        ]
    return []
