"""Outages across the catch-up's skip: when the tick is more than MAX_CATCH_UP_MINUTES behind
(workers away while reports kept coming), it judges only the newest minutes. An outage that
opens right after the skip, and one open before it that ends in or after it, still get their
onset, end and counts from every minute's reports, as the page and the API show them."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.core import STATE_OUTAGE, DetectorConfig, DetectorState
from detection.models import Outage, SeriesState
from detection.presentation import outage_totals
from detection.services import buckets_aggregate, detect_tick
from detection.services.outage_tally import outage_recount
from tests.detection.conftest import T0
from tests.detection.test_tick import run_minutes

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def reports_only(send_reports, service, start: int, stop: int, extra: int = 0) -> None:
    """Minutes [start, stop) of reports with no tick: the workers are away."""
    for k in range(start, stop):
        send_reports(service, T0 + k * M, 2, country="DE")
        if extra:
            send_reports(service, T0 + k * M, extra, country="DE", problem="app")


def catch_up(minute: int) -> list:
    """The workers are back at `minute`: one run buckets everything and ticks."""
    now = T0 + minute * M + dt.timedelta(seconds=2)
    buckets_aggregate(now=now)
    return detect_tick(now=now)


def assert_shown(api_client, outage: Outage) -> dict:
    """The API and the page's totals say what the outage row holds."""
    body = api_client.get(f"/api/v1/outages/{outage.id}/").json()
    assert (body["total_reports"], body["networks"]) == (outage.total_reports, outage.networks)
    assert f"{outage.total_reports:,} reports" in outage_totals(outage)
    assert f"from {outage.networks:,} different networks" in outage_totals(outage)
    return body


def quiet_counts(service) -> set[int]:
    """The quiet minutes counted by the service's series in the outage state."""
    rows = SeriesState.objects.filter(service=service)
    states = [DetectorState.from_records([row.core_state]) for row in rows]
    return {int(s.quiet_minutes[0]) for s in states if s.state[0] == STATE_OUTAGE}


def _open_after_skip(history, send_reports, onset: int) -> Outage:
    run_minutes(send_reports, history, 0, 10)
    reports_only(send_reports, history, 10, onset)
    reports_only(send_reports, history, onset, 61, extra=25)
    done = catch_up(61)  # behind since minute 10: minutes 10-30 skipped, the newest 30 judged
    assert [d.minute for d in done] == [T0 + k * M for k in range(31, 61)]
    return Outage.objects.get(service=history)


@pytest.mark.parametrize("onset", [12, 25, 29, 30])
def test_an_outage_opening_after_a_skip_counts_every_report_since_its_onset(
    history, send_reports, api_client, onset
):
    """Not a defect ("a 0-report tally after skipped minutes"): the onset is found in the
    skipped minutes still in the window, and the tally counts from there, networks too."""
    outage = _open_after_skip(history, send_reports, onset)
    assert outage.is_active and outage.started_at == T0 + onset * M
    # Its opening quotes a minute judged half an hour late: dated by that minute, not by now.
    opened = outage.events.get(kind="opened")
    assert T0 + 31 * M <= opened.since <= T0 + 33 * M
    assert opened.at == T0 + 61 * M + dt.timedelta(seconds=2)
    counted = outage_recount(outage, T0 + 60 * M)
    assert outage.total_reports == counted.total == 27 * (61 - onset)
    assert outage.networks == counted.networks == outage.total_reports  # a network each
    assert outage.top_problems[0] == {"problem": "app", "count": 25 * (61 - onset)}
    body = assert_shown(api_client, outage)
    assert body["started_at"] == (T0 + onset * M).isoformat().replace("+00:00", "Z")
    assert f"{outage.total_reports} counted reports" in outage.explanation

    run_minutes(send_reports, history, 61, 63, extra=25)  # and on from there
    outage.refresh_from_db()
    assert outage.total_reports == outage_recount(outage, T0 + 62 * M).total
    assert outage.networks == outage_recount(outage, T0 + 62 * M).networks


@pytest.mark.django_db(transaction=True)
def test_an_outage_opening_after_a_skip_counts_every_report_with_the_tick_kept_in_memory(
    history, send_reports, api_client
):
    """Each minute committed, as in production: the catch-up reads its states and buckets
    from what the worker kept of its last tick before the skip, and counts alike."""
    outage = _open_after_skip(history, send_reports, 25)
    assert outage.started_at == T0 + 25 * M
    counted = outage_recount(outage, T0 + 60 * M)
    assert (outage.total_reports, outage.networks) == (counted.total, counted.networks) != (0, 0)
    assert_shown(api_client, outage)


def _open_then_skip(history, send_reports, *, high_until: int) -> Outage:
    """An outage from minute 10, judged until 19; the workers away from minute 20 to 70 while
    its reports stay high until `high_until`; back at 71 (minutes 20-40 skipped)."""
    run_minutes(send_reports, history, 0, 10)
    run_minutes(send_reports, history, 10, 20, extra=25)
    assert Outage.objects.get(service=history).is_active
    reports_only(send_reports, history, 20, high_until, extra=25)
    reports_only(send_reports, history, high_until, 71)
    done = catch_up(71)
    assert done[0].minute == T0 + 41 * M
    return Outage.objects.get(service=history)


@pytest.mark.parametrize("high_until", [25, 32])
def test_an_outage_ending_in_skipped_minutes_ends_at_its_last_elevated_minute(
    history, send_reports, api_client, high_until
):
    """The defect: its end was the last minute judged before the skip (12:20 here, for
    reports high until 12:24 or 12:31), so the page and the API gave it a shorter life than
    the chart of its reports beside them."""
    outage = _open_then_skip(history, send_reports, high_until=high_until)
    assert outage.status == "resolved"
    assert outage.resolved_at == T0 + high_until * M
    # Its counts reach its last elevated minute, skipped minutes included, as for an outage
    # with no skip (not the quiet minutes that confirmed its end).
    counted = outage_recount(outage, outage.resolved_at - M)
    assert (outage.total_reports, outage.networks) == (counted.total, counted.networks)
    assert outage.total_reports >= 27 * (high_until - 10)
    body = assert_shown(api_client, outage)
    assert body["resolved_at"] == outage.resolved_at.isoformat().replace("+00:00", "Z")
    assert list(outage.events.values_list("kind", flat=True)) == ["opened", "resolved"]


def test_an_outage_ending_before_the_skip_keeps_its_end(history, send_reports):
    """Skipped minutes at the usual volume move nothing: the end is where it would have been
    without the skip (a few minutes after the last elevated one, as the short windows calm)."""
    outage = _open_then_skip(history, send_reports, high_until=20)
    assert outage.status == "resolved"
    assert T0 + 20 * M <= outage.resolved_at <= T0 + 25 * M


def test_an_outage_still_elevated_after_the_skip_ends_as_without_one(history, send_reports):
    outage = _open_then_skip(history, send_reports, high_until=42)
    assert outage.status == "resolved"
    assert T0 + 42 * M <= outage.resolved_at <= T0 + 47 * M


def test_an_outage_quiet_before_the_skip_and_elevated_in_it_does_not_resolve_on_its_return(
    history, send_reports
):
    """All but one of the quiet minutes that resolve judged before the skip, high reports in
    it: the first minute after it would have been the last quiet one and resolved the
    outage at its end before the skip, skipped reports and all."""
    almost = DetectorConfig().state.quiet_minutes - 1
    run_minutes(send_reports, history, 0, 10)
    run_minutes(send_reports, history, 10, 20, extra=25)
    k = 20
    while quiet_counts(history) != {almost} and k < 40:
        run_minutes(send_reports, history, k, k + 1)
        k += 1
    assert quiet_counts(history) == {almost} and Outage.objects.get(service=history).is_active
    reports_only(send_reports, history, k, k + 15, extra=25)
    reports_only(send_reports, history, k + 15, k + 51)
    catch_up(k + 51)  # minutes k to k + 20 skipped
    outage = Outage.objects.get(service=history)
    assert outage.status == "resolved"
    assert outage.resolved_at == T0 + (k + 15) * M
    assert list(outage.events.values_list("kind", flat=True)) == ["opened", "resolved"]
