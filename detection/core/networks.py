"""How many distinct networks an excess of counted reports proves, at the least.

Ingestion counts at most one report per network per dedup window, so a sum over k minutes
can hold up to ceil(k / window) counts from one network. Dividing the excess by that bound is
the fewest networks that can explain it: the evidence the detector demands before it says
"problems", whatever User-Agent or header the reporters sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .config import DetectorConfig


# The sites (IPv4 /24, IPv6 /48) one host can hold at once: its IPv4 address, its own IPv6
# range, a tunnel broker's /48 and a phone's mobile network. What that many networks show,
# one machine can show (reports.networks).
ONE_HOST_SITES = 4
# The fewest sites that prove more than one host: the bar for an outage, a country's series, a
# country or problem listed on an outage, a comment hidden by flags (settings.SERIES_MIN_SITES,
# settings.OUTAGE_MIN_NETWORKS and reports.models.COMMENT_HIDE_AFTER_FLAGS default to it;
# tests/test_one_host.py holds them to it).
BEYOND_ONE_HOST = ONE_HOST_SITES + 1


@dataclass(frozen=True)
class NetworkConfig:
    """Settings of the network gate (part of DetectorConfig; flat override names).

    In production both come from settings (detection.services.config): the gate must know
    how often ingestion lets one network count.
    """

    # Ingestion counts one report per site (IPv4 /24, IPv6 /48) per this many minutes (its
    # dedup window, REPORT_DEDUP_WINDOW_MINUTES), so over k minutes one network can add up to
    # ceil(k / network_window_minutes) counts.
    network_window_minutes: int = 15
    # Problems need the excess from at least this many distinct networks (OUTAGE_MIN_NETWORKS),
    # and from at least the share of the networks a normal window sees that the relative excess
    # floor asks for: one household, office, rented range or host cannot fake an outage. More
    # than one host holds: with four, one host's four sites, each counted once a dedup window,
    # opened outages on services of up to 0.3 reports a minute (bench/README.md, "Problems need
    # more networks than one host holds"). A bar on the count alone lets the service's own noise
    # bring the fifth, so scoring also judges each sum with all one host can add taken out
    # (scoring._p_beyond_one_host).
    min_networks_outage: int = BEYOND_ONE_HOST


def counts_per_network(
    windows: np.ndarray, step_minutes: int, config: DetectorConfig
) -> np.ndarray:
    """Most counts one network can add to a sum of each window (in buckets)."""
    minutes = np.asarray(windows) * step_minutes
    return np.maximum(1, np.ceil(minutes / config.networks.network_window_minutes))


def excess_networks(
    excess: np.ndarray, windows: np.ndarray, step_minutes: int, config: DetectorConfig
) -> np.ndarray:
    """(n, len(windows)) fewest distinct networks behind each window's excess (>= 0)."""
    per = counts_per_network(windows, step_minutes, config)
    return np.floor(np.maximum(np.asarray(excess, dtype=np.float64), 0.0) / per)


def networks_needed(
    expected: np.ndarray,
    windows: np.ndarray,
    step_minutes: int,
    config: DetectorConfig,
    ratio: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(outage, possible) networks each window's excess must come from.

    The relative part scales with the series' volume: the excess must come from at least
    `ratio` (outage, possible) of the networks a normal window sees (expected counts over the
    per-network bound). Possible problems need as many networks at the least as problems do:
    one host often holds three (its IPv4 /24, its own IPv6 range and a tunnel broker's /48),
    and with the two they needed it showed "possible problems" on a quiet service whenever it
    liked (red-team tester F1).
    """
    per = counts_per_network(windows, step_minutes, config)
    normal = np.asarray(expected, dtype=np.float64) / per
    ratio_out, ratio_pos = ratio
    minimum = config.networks.min_networks_outage
    need_out = np.maximum(minimum, np.ceil(ratio_out * normal))
    need_pos = np.maximum(minimum, np.ceil(ratio_pos * normal))
    return need_out, need_pos
