"""One machine, one office or one forged header cannot fake an outage; a real crowd from
20 networks is still detected within two minutes and mailed (issue 11)."""

from __future__ import annotations

import pytest

from alerts.models import AlertDelivery
from detection.models import Outage
from reports.models import Report
from tests.abuse.conftest import assert_no_outage_and_no_email
from tests.conftest import wait_until

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


def test_rotating_user_agents_from_one_address_count_once(
    watched, post_report, celery_worker_process, judge, mail_dir
):
    # `curl -A "ua-$i"` in a loop: before, every new User-Agent was a new reporter.
    sent = [post_report(user_agent=f"ua-{i}") for i in range(40)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.count() == 40 and Report.objects.filter(counted=True).count() == 1
    judge()
    assert_no_outage_and_no_email(mail_dir)


@pytest.mark.parametrize("trusted_proxies", ["", "10.0.0.0/8"], indirect=True)
def test_forged_forwarded_for_from_a_direct_client_counts_once(
    trusted_proxies, watched, post_report, celery_worker_process, judge, mail_dir
):
    # The app is reachable directly (the client is no proxy of ours): its header is a lie.
    sent = [post_report(forwarded_for=f"198.51.{i}.7, 203.0.{i}.9") for i in range(40)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 1
    judge()
    assert_no_outage_and_no_email(mail_dir)


@pytest.mark.parametrize("trusted_proxies", ["127.0.0.1"], indirect=True)
def test_forged_entries_before_the_proxys_own_count_once(
    trusted_proxies, watched, post_report, celery_worker_process, judge, mail_dir
):
    # Behind our proxy (127.0.0.1 here), which appends the address it saw: 198.51.100.7.
    sent = [post_report(forwarded_for=f"203.0.{i}.9, 198.51.100.7") for i in range(40)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 1
    # The proxy's entry is believed: a second real client behind it counts on its own.
    assert post_report(forwarded_for="1.2.3.4, 198.51.101.7").body["counted"] is True
    judge()
    assert_no_outage_and_no_email(mail_dir)


def test_thirty_addresses_in_one_network_count_once(
    watched, post_report, celery_worker_process, judge, mail_dir
):
    sent = [post_report(source=f"127.0.0.{host}", user_agent=f"ua-{host}") for host in range(2, 32)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 1
    judge()
    assert_no_outage_and_no_email(mail_dir)


def test_many_networks_in_one_block_add_at_most_its_cap(
    watched, post_report, celery_worker_process, judge, mail_dir
):
    # One operator renting 30 small networks in one provider's /16.
    sent = [post_report(source=f"127.9.{net}.1") for net in range(30)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 4  # REPORT_BLOCK_MAX_COUNTED
    judge()
    assert_no_outage_and_no_email(mail_dir)


@pytest.mark.parametrize("trusted_proxies", ["127.0.0.1"], indirect=True)
def test_the_networks_of_one_tunnelled_ipv6_48_count_once(
    trusted_proxies, watched, post_report, celery_worker_process, judge, mail_dir
):
    # A free tunnel broker routes a whole /48 to one machine: 40 of its /56 networks, behind
    # our proxy. Each was a network of its own, up to the block's cap (four counted).
    sent = [post_report(forwarded_for=f"2001:db8:7:{net:02x}00::9") for net in range(40)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 1
    judge()
    assert_no_outage_and_no_email(mail_dir)


def test_real_outage_from_twenty_networks_is_detected_within_two_minutes_and_mailed(
    watched, post_report, celery_worker_process, judge, mail_dir
):
    sent = [post_report(source=f"127.{20 + k}.0.1", user_agent="Firefox") for k in range(20)]
    assert {s.status for s in sent} == {201}
    assert Report.objects.filter(counted=True).count() == 20
    judge()
    outage = Outage.objects.get(service=watched)
    assert (outage.detected_at - outage.started_at).total_seconds() <= 120
    assert outage.networks == 20
    assert "from 20 networks" in outage.explanation
    wait_until(
        lambda: AlertDelivery.objects.filter(outage=outage, status="sent").exists(),
        timeout=60,
        what="the worker to send the alert",
    )
    assert len(list(mail_dir.glob("*"))) == 1
