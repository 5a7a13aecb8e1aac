from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class DetectionConfig(AppConfig):
    name = "detection"
    verbose_name = "Outage detection"

    def ready(self) -> None:
        checks.register(detector_config_check)


def detector_config_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """DETECTOR_OVERRIDES is read at the first tick; a typo must stop start-up instead."""
    from detection.services.config import detector_config

    detector_config.cache_clear()
    try:
        detector_config()
    except (TypeError, ValueError) as exc:
        return [checks.Error(f"DETECTOR_OVERRIDES: {exc}", id="detection.E001")]
    return []
