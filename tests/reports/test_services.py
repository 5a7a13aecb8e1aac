from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reports.models import BlockWindow, Report, ReporterWindow
from reports.networks import block_window_end, network_keys
from reports.services import Uncounted, report_create, reporter_windows_purge

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


def _report(service, problem, *, address="203.0.113.7", now=NOW, countable=True):
    return report_create(
        service=service,
        problem=problem,
        country="DE",
        source=Report.Source.API,
        address=address,
        countable=countable,
        now=now,
    )


def test_report_is_stored_with_keyed_network_hashes_and_never_the_address(service, problem_types):
    created = _report(service, problem_types["login"])
    report = Report.objects.get(pk=created.report.pk)
    assert report.counted is True
    assert len(report.reporter_key) == 64 and len(report.block_key) == 64
    stored = " ".join(str(getattr(report, f.attname)) for f in Report._meta.fields)
    assert "203.0.113" not in stored
    assert report.reporter_key == network_keys("203.0.113.7").network


def test_network_keys_depend_on_the_server_secret(settings):
    key = network_keys("203.0.113.7").network
    settings.SECRET_KEY = "another-secret-" * 4
    assert network_keys("203.0.113.7").network != key


def test_one_network_is_one_reporter():
    # The unit of evidence is the IPv4 /24 or IPv6 /56, whatever the address inside it; the
    # dedup window is the /24's or the IPv6 /48's (its site).
    assert network_keys("203.0.113.7") == network_keys("203.0.113.250")
    assert network_keys("2001:db8:0:ff::1") == network_keys("2001:db8:0:1::2")
    assert network_keys("::ffff:203.0.113.9") == network_keys("203.0.113.7")
    assert network_keys("203.0.113.7").network != network_keys("203.0.114.7").network
    assert network_keys("203.0.113.7").block == network_keys("203.0.114.7").block
    assert network_keys("2001:db8:0:100::1").network != network_keys("2001:db8::1").network
    assert network_keys("2001:db8:0:100::1").site == network_keys("2001:db8::1").site
    assert network_keys("2001:db8:1::1").site != network_keys("2001:db8::1").site
    assert network_keys("2001:db8:ffff::1").block == network_keys("2001:db8::1").block  # /32
    assert network_keys("2001:db9::1").block != network_keys("2001:db8::1").block
    assert network_keys("203.0.113.7").site == network_keys("203.0.113.7").network


@pytest.mark.parametrize(
    "ipv6",
    [
        "::ffff:203.0.113.60",  # IPv4-mapped
        "2002:cb00:713c::1",  # 6to4 (RFC 3056): 203.0.113.60's /48
        "2002:cb00:713c:ffff::2",
        "2001:0:4136:e378:8000:63bf:34ff:8ec3",  # Teredo (RFC 4380): the IPv4 inverted
        "2001:0:c000:201:0:1:34ff:8ec3",  # another Teredo server and port
        "64:ff9b::cb00:713c",  # NAT64's well-known prefix (RFC 6052)
        "64:ff9b::203.0.113.60",
    ],
)
def test_an_ipv6_address_that_carries_an_ipv4_one_is_that_ipv4_network(ipv6):
    # Every IPv4 address owns a 6to4 /48 and Teredo addresses: counted apart, one IPv4 host
    # was another network, site and block (abuse tester, fiftieth session).
    assert network_keys(ipv6) == network_keys("203.0.113.60")


def test_ipv6_forms_of_other_ipv4_networks_stay_apart():
    assert network_keys("2002:cb00:723c::1").network != network_keys("2002:cb00:713c::1").network
    assert network_keys("2002:cb00:723c::1").block == network_keys("203.0.113.60").block
    assert network_keys("2002:cb01::1").block != network_keys("203.0.113.60").block
    # 2001:db8:: is no Teredo address: an IPv6 network of its own, as before.
    assert network_keys("2001:db8::cb00:713c") != network_keys("203.0.113.60")


def test_repeat_report_inside_window_is_stored_but_not_counted(service, problem_types):
    first = _report(service, problem_types["login"])
    second = _report(service, problem_types["website"], now=NOW + dt.timedelta(minutes=5))
    assert first.counted and not second.counted
    assert second.uncounted is Uncounted.REPEAT
    assert "count once every 15 minutes" in second.message
    assert Report.objects.count() == 2


def test_one_ipv6_site_adds_one_counted_report_per_window(service, problem_types, settings):
    # A /48 (what a tunnel broker routes to one machine) holds 256 /56 networks: one counts.
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    counted = [
        _report(service, problem_types["login"], address=f"2001:db8:1:{net:02x}00::1").counted
        for net in range(12)
    ]
    assert counted == [True] + [False] * 11
    assert Report.objects.filter(counted=True).count() == 1
    # The networks stay apart in what is stored; another /48 of the block counts.
    assert Report.objects.values("reporter_key").distinct().count() == 12
    assert _report(service, problem_types["login"], address="2001:db8:2::1").counted
    later = NOW + dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES, seconds=1)
    assert _report(service, problem_types["login"], address="2001:db8:1:500::1", now=later).counted


def test_the_message_says_why_a_report_was_not_counted(service, problem_types, settings):
    settings.REPORT_BLOCK_MAX_COUNTED = 1
    assert _report(service, problem_types["login"], address="100.64.1.1").uncounted is (
        Uncounted.NONE
    )
    block = _report(service, problem_types["login"], address="100.64.2.1")
    unchecked = _report(service, problem_types["login"], address="100.66.1.1", countable=False)

    assert block.uncounted is Uncounted.BLOCK and not block.counted
    assert "provider's network has added as many reports" in block.message
    assert unchecked.uncounted is Uncounted.UNCHECKED and not unchecked.counted
    assert "could not check it" in unchecked.message
    for created in (block, unchecked):
        assert "one from yours was counted" not in created.message


def test_other_addresses_of_the_same_network_do_not_count_again(service, problem_types):
    assert _report(service, problem_types["login"], address="203.0.113.7").counted
    for host in range(8, 38):
        assert not _report(service, problem_types["login"], address=f"203.0.113.{host}").counted
    assert Report.objects.filter(counted=True).count() == 1
    assert Report.objects.count() == 31


def test_report_counts_again_after_the_window(service, problem_types, settings):
    _report(service, problem_types["login"])
    later = NOW + dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES, seconds=1)
    assert _report(service, problem_types["login"], now=later).counted


def test_repeats_do_not_extend_the_window(service, problem_types):
    _report(service, problem_types["login"])
    _report(service, problem_types["login"], now=NOW + dt.timedelta(minutes=14))
    assert _report(service, problem_types["login"], now=NOW + dt.timedelta(minutes=16)).counted


def test_other_networks_and_other_services_count(service, make_service, problem_types):
    other_service = make_service("globex")
    assert _report(service, problem_types["login"]).counted
    assert _report(service, problem_types["login"], address="198.51.100.1").counted
    assert _report(other_service, problem_types["login"]).counted


def test_one_block_adds_at_most_its_cap_per_window(service, problem_types, settings):
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    counted = [
        _report(service, problem_types["login"], address=f"100.64.{net}.1").counted
        for net in range(10)
    ]
    assert counted == [True] * 4 + [False] * 6
    # Another block is not affected, and the block counts again after its window.
    assert _report(service, problem_types["login"], address="100.65.0.1").counted
    later = NOW + dt.timedelta(minutes=121)
    assert _report(service, problem_types["login"], address="100.64.200.1", now=later).counted
    assert BlockWindow.objects.get(block_key=network_keys("100.64.0.1").block).counted == 1


def test_unchecked_report_is_stored_but_not_counted_and_spends_no_window(service, problem_types):
    created = _report(service, problem_types["login"], countable=False)
    assert Report.objects.filter(pk=created.report.pk, counted=False).exists()
    assert not ReporterWindow.objects.exists()
    # Once the guard works again the same network counts as usual.
    assert _report(service, problem_types["login"], now=NOW + dt.timedelta(seconds=5)).counted


def test_purge_removes_only_expired_windows(service, make_service, problem_types):
    now = timezone.now()
    _report(service, problem_types["login"], now=now - dt.timedelta(hours=2))
    _report(make_service("globex"), problem_types["login"], now=now)
    assert reporter_windows_purge(now=now) == 2  # the old network and block windows
    assert ReporterWindow.objects.count() == 1
    assert BlockWindow.objects.count() == 1


def test_the_purge_keeps_a_block_window_the_next_one_still_weighs(service, problem_types, settings):
    # A window that just ended still weighs its counted reports in the next one: purged at
    # its end, a block that spent its cap just before the turn got a whole new cap after it,
    # and no test noticed (mutation tester, forty-sixth session).
    settings.REPORT_BLOCK_MAX_COUNTED = 10
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    login = problem_types["login"]
    end = block_window_end(network_keys("100.64.0.1").block, NOW, 60)
    before = end - dt.timedelta(seconds=30)
    for net in range(10):
        assert _report(service, login, address=f"100.64.{net}.1", now=before).counted
    reporter_windows_purge(now=end + dt.timedelta(minutes=2))
    assert BlockWindow.objects.filter(window_until=end).exists()
    after = end + dt.timedelta(minutes=2, seconds=1)
    assert not _report(service, login, address="100.64.77.1", now=after).counted
    # A whole window past its end it weighs nothing any more, and goes.
    reporter_windows_purge(now=end + dt.timedelta(minutes=61))
    assert not BlockWindow.objects.filter(window_until=end).exists()


def test_a_block_s_window_is_its_own_phase_of_a_fixed_grid():
    window = 60
    ends = {
        key: block_window_end(key, NOW, window)
        for key in (
            network_keys(f"10.{a}.{b}.1").block for a in range(30) for b in range(0, 256, 64)
        )
    }
    for end in ends.values():
        assert NOW < end <= NOW + dt.timedelta(minutes=window)
    # The grid: the same window for any moment before its end, the next one from its end.
    key, end = next(iter(ends.items()))
    assert block_window_end(key, end - dt.timedelta(seconds=1), window) == end
    assert block_window_end(key, end, window) == end + dt.timedelta(minutes=window)
    # Blocks are spread over the hour (30 blocks: not all in one quarter of it).
    minutes = {int((end - NOW).total_seconds() // 60) // 15 for end in ends.values()}
    assert minutes == {0, 1, 2, 3}


def test_a_sustained_surge_from_a_few_blocks_keeps_counting_through_the_hour(
    service, problem_types, settings
):
    """Scale tester (fortieth session): 300 provider blocks sending 2,400 reports a minute
    counted 904, 295, 1, then 0 a minute for the rest of the hour (every block's window had
    begun at the onset), and the outage was declared over while reports poured in."""
    settings.REPORT_BLOCK_MAX_COUNTED = 4
    settings.REPORT_BLOCK_WINDOW_MINUTES = 60
    blocks = 40
    counted = [[0] * blocks for _ in range(75)]  # by minute and block
    for minute in range(75):
        now = NOW + dt.timedelta(minutes=minute, seconds=10)
        for block in range(blocks):
            # Two new /24s of the block a minute: each a network of its own, never repeated.
            for k in range(2):
                net = (2 * minute + k) % 256
                address = f"100.{64 + block}.{net}.1"
                counted[minute][block] += _report(
                    service, problem_types["login"], address=address, now=now
                ).counted
    by_minute = [sum(row) for row in counted]
    # The onset: every block's allowance.
    assert sum(by_minute[:2]) >= blocks * 4 * 0.9
    # Then each block counts again from a moment of its own (an eighth of an hour into its
    # next window), so the counted reports never stop for as long as an outage takes to be
    # declared over (15 minutes).
    assert all(any(row[block] for row in counted[2:75]) for block in range(blocks))
    middle = "".join("x" if n else " " for n in by_minute[5:60])
    assert max(len(run) for run in middle.split("x")) <= 10
    # Once past its turn, a block that keeps sending counts about its cap an hour, spread.
    assert sum(by_minute[60:75]) >= blocks * 4 * (15 / 60) * 0.8
