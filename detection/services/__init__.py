"""Writes of the detection app: bucketing, baselines, the tick and the outage lifecycle."""

from detection.services.baselines import (
    baselines_refit,
    baselines_refit_batch,
    baselines_refit_start,
)
from detection.services.buckets import buckets_aggregate
from detection.services.retention import retention_purge
from detection.services.tick import detect_tick, tick_prime

__all__ = [
    "baselines_refit",
    "baselines_refit_batch",
    "baselines_refit_start",
    "buckets_aggregate",
    "detect_tick",
    "retention_purge",
    "tick_prime",
]
