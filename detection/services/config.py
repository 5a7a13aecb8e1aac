"""The detector configuration used in production (the core's defaults unless overridden)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from detection.core import DetectorConfig


@cache
def detector_config() -> DetectorConfig:
    return DetectorConfig.from_dict({**DetectorConfig().to_dict(), **settings.DETECTOR_OVERRIDES})
