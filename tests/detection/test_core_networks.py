"""The network gate: an excess must come from enough distinct networks (no database)."""

from __future__ import annotations

import numpy as np

from detection.core import LEVEL_OUTAGE, DetectorConfig, detect_series, score
from detection.core.networks import (
    BEYOND_ONE_HOST,
    ONE_HOST_SITES,
    counts_per_network,
    excess_networks,
    networks_needed,
)

CONFIG = DetectorConfig()


def _score(observed, rate, config=CONFIG, step=1):
    observed = np.asarray(observed, dtype=float)[None, :]
    expected = np.full_like(observed, rate * step)
    return score(observed, expected, np.zeros(1), config, step_minutes=step)


def test_one_network_counts_at_most_once_per_dedup_window():
    per = counts_per_network(np.array([1, 15, 16, 20, 60]), 1, CONFIG)
    assert per.tolist() == [1, 1, 2, 2, 4]
    # With 5-minute buckets a 12-bucket sum spans an hour.
    assert counts_per_network(np.array([12]), 5, CONFIG).tolist() == [4]
    assert excess_networks(np.array([[12.8, -3.0]]), np.array([60, 1]), 1, CONFIG).tolist() == [
        [3.0, 0.0]
    ]


def test_hour_long_excess_from_a_few_networks_is_not_an_outage():
    # 14 counted reports in an hour against 1.2 expected: significant, and enough for the
    # absolute floor, but three networks reporting every 15 minutes can produce it.
    observed = np.zeros(60)
    observed[::4] = 1
    assert observed.sum() == 15
    result = _score(observed, 0.02)
    assert result.level[0] < LEVEL_OUTAGE
    # The same excess from networks that count once an hour must come from 13: an outage.
    many = DetectorConfig.from_dict({"network_window_minutes": 60})
    assert _score(observed, 0.02, many).level[0] == LEVEL_OUTAGE


def test_crowd_from_twenty_networks_in_two_minutes_is_an_outage():
    observed = np.zeros(60)
    observed[-2:] = 10
    result = _score(observed, 0.1)
    assert result.level[0] == LEVEL_OUTAGE
    assert result.networks[0] >= 9  # the newest minute: 10 reports vs 0.1 expected


def test_networks_needed_grow_with_the_series_volume():
    windows = np.array([1, 60])
    small_out, _ = networks_needed(np.array([[0.1, 6.0]]), windows, 1, CONFIG, (0.3, 0.15))
    big_out, _ = networks_needed(np.array([[100.0, 6000.0]]), windows, 1, CONFIG, (0.3, 0.15))
    assert small_out.tolist() == [[BEYOND_ONE_HOST, BEYOND_ONE_HOST]]
    assert big_out.tolist() == [[30, 450]]


def test_one_hosts_four_networks_are_not_even_possible_problems():
    """A host with an IPv4 /24, its own IPv6 range and a tunnel broker's /48 sent one
    counted report from each, every 15 minutes, and a quiet service showed "possible
    problems" each time (red-team tester F1); a phone's network makes four. Possible needs
    as many networks as problems: more than one host holds."""
    observed = np.zeros(60)
    observed[-1] = 5  # an excess of 4.95: four networks can send it
    four = _score(observed, 0.05)
    assert four.level[0] == 0 and four.networks[0] == ONE_HOST_SITES
    observed[-1] = 7  # one host's four and three more: 3 against 0.05 is surprising
    assert _score(observed, 0.05).level[0] >= 1
    observed[-2:] = [2, 3]  # two minutes of five: at most four networks behind the excess
    assert _score(observed, 0.05).level[0] == 0


def test_what_one_host_can_add_is_set_aside_before_judging():
    """A busier service (0.3 reports a minute) lends one host its own upward noise: the
    host's four sites, counted once every 15 minutes, add 16 to an hour's 18, and with the
    service's own ten more the excess needs five networks at the least and is surprising
    (p 1.6e-7). Less the most one host can add in that hour (its sites counted four times
    each), 28 against 18 is ordinary: no problems, not even possible ones."""
    observed = np.zeros(60)
    observed[-44:] = 1
    busy = _score(observed, 0.3)
    assert busy.window_networks[0, -1] >= BEYOND_ONE_HOST
    assert busy.window_p[0, -1] < CONFIG.scoring.p_outage
    assert busy.level[0] == 0
    # Two hosts' worth (a real crowd) is still an outage.
    observed[-60:] = 1
    observed[-20:] = 2
    assert _score(observed, 0.3).level[0] == LEVEL_OUTAGE


def _one_host_attack(rate: float, sites: int) -> int:
    """Outages opened on three weeks of a series (rate a minute, a daily swing) by ``sites``
    sites, each counted once a dedup window for six hours at the end."""
    rng = np.random.default_rng(7)
    n = 21 * 1440
    minutes = np.arange(n, dtype=np.int64) + 29_000_000
    day = (np.arange(n) % 1440) / 1440
    values = rng.poisson(rate * (1 + 0.6 * np.sin(2 * np.pi * (day - 0.3)))).astype(float)
    start = n - 2 * 1440
    window = CONFIG.networks.network_window_minutes
    for site in range(sites):
        values[start + 3 * site : start + 360 : window] += 1
    result = detect_series(minutes, values, 1, CONFIG)
    return sum(o.opened_at >= minutes[start] for o in result.outages)


def test_one_host_with_all_its_sites_opens_no_outage():
    """Four sites, each counted once every 15 minutes, opened outages on services of 0.05
    reports a minute every time while the gate asked for four networks, and at five still
    on services of 0.3 a minute 3 times in 8, with the service's own noise (bench/README.md,
    "Problems need more networks than one host holds", "What one host can add is set
    aside"); two hosts' sites are more than one host."""
    for rate in (0.01, 0.05, 0.3, 1.0):
        assert _one_host_attack(rate, ONE_HOST_SITES) == 0, rate
    assert _one_host_attack(0.05, 2 * ONE_HOST_SITES) > 0
