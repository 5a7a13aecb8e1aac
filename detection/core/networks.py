"""How many distinct networks an excess of counted reports proves, at the least.

Ingestion counts at most one report per network per dedup window, so a sum over k minutes
can hold up to ceil(k / window) counts from one network. Dividing the excess by that bound is
the fewest networks that can explain it: the evidence the detector demands before it says
"problems", whatever User-Agent or header the reporters sent.
"""

from __future__ import annotations

import numpy as np

from .config import DetectorConfig


def counts_per_network(
    windows: np.ndarray, step_minutes: int, config: DetectorConfig
) -> np.ndarray:
    """Most counts one network can add to a sum of each window (in buckets)."""
    minutes = np.asarray(windows) * step_minutes
    return np.maximum(1, np.ceil(minutes / config.network_window_minutes))


def excess_networks(
    excess: np.ndarray, windows: np.ndarray, step_minutes: int, config: DetectorConfig
) -> np.ndarray:
    """(n, len(windows)) fewest distinct networks behind each window's excess (>= 0)."""
    per = counts_per_network(windows, step_minutes, config)
    return np.floor(np.maximum(np.asarray(excess, dtype=np.float64), 0.0) / per)


def networks_needed(
    expected: np.ndarray, windows: np.ndarray, step_minutes: int, config: DetectorConfig, ratio
) -> tuple[np.ndarray, np.ndarray]:
    """(outage, possible) networks each window's excess must come from.

    The relative part scales with the series' volume: the excess must come from at least
    `ratio` of the networks a normal window sees (expected counts over the per-network bound).
    """
    per = counts_per_network(windows, step_minutes, config)
    normal = np.asarray(expected, dtype=np.float64) / per
    ratio_out, ratio_pos = ratio
    need_out = np.maximum(config.min_networks_outage, np.ceil(ratio_out * normal))
    need_pos = np.maximum(config.min_networks_possible, np.ceil(ratio_pos * normal))
    return need_out, need_pos
