"""The client address: X-Forwarded-For only from proxies named in TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from outagewatch.clients import client_address


def _address(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _address("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_direct_request_cannot_forge_its_address(proxies):
    # The app is reachable directly: REMOTE_ADDR is no proxy of ours, the header is a lie.
    assert _address("203.0.113.5", "198.51.100.1, 10.0.0.7") == "203.0.113.5"


def test_trusted_proxy_vouches_for_the_hop_it_appended(proxies):
    assert _address("10.0.0.2", "198.51.100.1") == "198.51.100.1"


def test_forged_entries_left_of_the_real_client_are_ignored(proxies):
    # The client wrote "1.2.3.4" itself; our proxy appended the address it saw.
    assert _address("10.0.0.2", "1.2.3.4, 198.51.100.1") == "198.51.100.1"


def test_chains_of_trusted_proxies_are_walked(proxies):
    assert _address("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.9.9.9") == "198.51.100.1"
    assert _address("2001:db8:ffff::1", "2001:db8:1::5") == "2001:db8:1::5"


def test_garbage_from_a_proxy_falls_back_to_the_last_vouched_address(proxies):
    assert _address("10.0.0.2", "not-an-address") == "10.0.0.2"
    assert _address("10.0.0.2", "1.2.3.4, junk, 10.0.0.3") == "10.0.0.3"


def test_ports_and_mapped_addresses_are_normalised(proxies):
    assert _address("10.0.0.2", "198.51.100.1:4711") == "198.51.100.1"
    assert _address("10.0.0.2", "[2001:db8:1::5]:443") == "2001:db8:1::5"
    assert _address("::ffff:203.0.113.5") == "203.0.113.5"


def test_a_proxy_is_trusted_by_the_address_it_connects_from(proxies):
    # 2002:a00:2:: carries 10.0.0.2 (6to4), and is counted as that host (counted_address),
    # but it is not our proxy at 10.0.0.2: its X-Forwarded-For is its own word.
    assert _address("2002:a00:2::1", "198.51.100.1") == "2002:a00:2::1"
