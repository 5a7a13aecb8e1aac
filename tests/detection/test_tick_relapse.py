"""A relapse (a re-fire within OUTAGE_REOPEN_MINUTES) is told to the followers of its own
countries, not of every country of the outage (F25), through the tick end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts import selectors as alert_selectors
from alerts.models import AlertDelivery, Subscription
from alerts.services import alert_delivery_send
from detection.episodes import outage_episode
from detection.models import Outage
from tests.detection.conftest import T0
from tests.detection.test_tick import run_minutes

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


@pytest.fixture
def followers(history):
    """A follower of only Germany and one of every country, both confirmed."""
    make = Subscription.objects.create
    de = make(email="de@example.com", service=history, countries=["DE"], confirmed_at=T0)
    everyone = make(email="all@example.com", service=history, countries=[], confirmed_at=T0)
    return de, everyone


def _minutes(history, send_reports, start: int, stop: int, *, de: int = 0, **more: int) -> None:
    """Minutes of 2 reports from Germany plus ``de`` more, and ``fr=45`` from France (any
    country by its code); the messages they cause are sent as they fall due, as the workers
    would."""
    for k in range(start, stop):
        for country, n in more.items():
            send_reports(history, T0 + k * M, n, country=country.upper())
        run_minutes(send_reports, history, k, k + 1, extra=de)
        now = timezone.now()
        for pk in alert_selectors.deliveries_due(now=now):
            alert_delivery_send(delivery_id=pk, now=now)


def _told(subscription: Subscription) -> list[tuple[str, int]]:
    rows = AlertDelivery.objects.filter(subscription=subscription, status="sent")
    return list(rows.order_by("pk").values_list("kind", "episode"))


def _resolved_then_relapse_in_france(history, send_reports, **relapse: int) -> Outage:
    """An outage in Germany and France, resolved, then reports from France only (or from
    the countries given)."""
    _minutes(history, send_reports, 0, 10)
    _minutes(history, send_reports, 10, 20, fr=15, de=25)
    _minutes(history, send_reports, 20, 40)
    outage = Outage.objects.get(service=history)
    assert outage.status == "resolved"
    assert set(outage.countries) == {"DE", "FR"}
    _minutes(history, send_reports, 40, 44, **(relapse or {"fr": 45}))
    outage.refresh_from_db()
    assert outage.is_active and outage.events.filter(kind="reopened").count() == 1
    # Its quiet minutes between the runs are in its span, not its duration (API tester F23).
    lull = outage.events.get(kind="resolved").since
    onset = outage.events.get(kind="reopened").since
    assert outage.paused_minutes == (onset - lull).total_seconds() // 60 > 10
    return outage


def test_a_relapse_in_france_is_not_told_to_a_follower_of_only_germany(
    history, send_reports, followers, mailoutbox
):
    de, everyone = followers
    outage = _resolved_then_relapse_in_france(history, send_reports)
    assert _told(de) == [("opened", 0), ("resolved", 0)]
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1)]
    assert outage_episode(outage=outage).countries == ["FR"]
    to_all = [m for m in mailoutbox if m.to == ["all@example.com"]]
    (again,) = [m for m in to_all if "problems again" in m.subject]
    # The relapse's countries, not the whole outage's.
    assert again.subject.startswith("Acme Cloud: problems again in France since ")
    assert "Affected: France\n" in again.body

    _minutes(history, send_reports, 44, 75)
    outage.refresh_from_db()
    assert outage.status == "resolved"
    # Not told it came back: not told it ended again either.
    assert _told(de) == [("opened", 0), ("resolved", 0)]
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]


def test_germany_joining_the_relapse_tells_its_follower_then(
    history, send_reports, followers, mailoutbox
):
    de, everyone = followers
    outage = _resolved_then_relapse_in_france(history, send_reports)
    assert _told(de) == [("opened", 0), ("resolved", 0)]

    _minutes(history, send_reports, 44, 48, fr=45, de=25)  # Germany's series fires
    assert outage_episode(outage=outage).countries == ["FR", "DE"]
    assert _told(de) == [("opened", 0), ("resolved", 0), ("reopened", 1)]
    # One "problems again" each: Germany joining adds none for those told already.
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1)]
    to_de = [m for m in mailoutbox if m.to == ["de@example.com"]]
    (again,) = [m for m in to_de if "problems again" in m.subject]
    assert again.subject.startswith("Acme Cloud: problems again in France and Germany since ")

    _minutes(history, send_reports, 48, 80)
    outage.refresh_from_db()
    assert outage.status == "resolved"
    assert _told(de) == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]


def test_a_relapse_seen_only_overall_is_told_where_its_reports_come_from(
    history, send_reports, followers, mailoutbox
):
    """Italy's series has no history to fire on: the relapse fires on the overall series
    alone, and its countries are those sending a good share of its reports (as the first
    run lists them). Germany's usual two reports a minute are not a relapse in Germany."""
    de, everyone = followers
    outage = _resolved_then_relapse_in_france(history, send_reports, it=45)
    assert _told(de) == [("opened", 0), ("resolved", 0)]
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1)]
    # The relapse's own entries (the first run's opening has Germany's, its series fired).
    reopened = outage.events.get(kind="reopened")
    relapse = outage.events.filter(kind="country", id__gt=reopened.id)
    assert set(relapse.values_list("country", flat=True)) == {"IT"}
    assert outage_episode(outage=outage).countries == ["IT"]
    assert "% of the extra reports since they rose again" in outage.events.get(country="IT").message
    (again,) = [m for m in mailoutbox if "problems again" in m.subject]
    assert again.subject.startswith("Acme Cloud: problems again in Italy since ")


def test_a_relapse_names_every_country_carrying_its_extra_reports(
    history, send_reports, followers, mailoutbox
):
    """A relapse two thirds from one country was told as another's: its countries were
    those whose series fired in its first minute, and the bigger one's, held by its own
    threshold after the first run, had not (words tester F1)."""
    outage = _resolved_then_relapse_in_france(history, send_reports, fr=45, de=25)
    reopened = outage.events.get(kind="reopened")
    relapse = outage.events.filter(kind="country", id__gt=reopened.id)
    assert set(relapse.values_list("country", flat=True)) == {"DE", "FR"}
    # Most extra reports first (France 45 a minute, Germany 25), not in the first run's order
    # (Germany first: regression tester F4).
    assert outage_episode(outage=outage).countries == ["FR", "DE"]
    again = [
        m.subject
        for m in mailoutbox
        if m.to == ["all@example.com"] and "problems again" in m.subject
    ]
    assert again and all("France" in s and "Germany" in s for s in again), again


def test_a_relapse_fired_on_a_long_window_dates_from_its_own_first_minute():
    # Problems back at 19:50 after a first run that ended at 19:32, caught at 19:52 by the
    # 60-minute sum (which still holds the first run's reports): it said "again since 19:32"
    # everywhere, and counted the 18 quiet minutes in its duration and totals (pages tester
    # F20, F26). The excess run of the series that fired began at 19:50.
    from types import SimpleNamespace

    import numpy as np

    from detection.services.outages import _relapse_onset
    from detection.services.timeutil import from_epoch_minute

    lull = dt.datetime(2026, 12, 5, 19, 32, tzinfo=dt.UTC)
    came_back = dt.datetime(2026, 12, 5, 19, 50, tzinfo=dt.UTC)
    first = int(came_back.timestamp()) // 60
    view = SimpleNamespace(
        minute=came_back + 2 * M,
        result=SimpleNamespace(
            onset=np.array([first + 1, first, first - 30]),  # the third series did not fire
            scores=SimpleNamespace(window=np.array([1, 60, 60])),
        ),
    )
    assert from_epoch_minute(first) == came_back
    assert _relapse_onset([0, 1], view, lull=lull) == came_back
    # A run reaching back into the first run's minutes is dated from the lull's end.
    assert _relapse_onset([2], view, lull=lull) == lull
    assert _relapse_onset([1], view, lull=None) == came_back
