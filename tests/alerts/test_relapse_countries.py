"""A relapse of an outage is told to the followers of its own countries (F25): "problems
again" names them, and "resolved" goes only to those whose last word is that it is on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import channels, presentation, selectors, services
from alerts.models import AlertDelivery
from detection.models import Bucket, Outage, OutageEvent, OutageProblemSite
from reports.models import ProblemType

pytestmark = pytest.mark.django_db

Kind = AlertDelivery.Kind


def _send_due() -> None:
    now = timezone.now()
    for pk in selectors.deliveries_due(now=now):
        services.alert_delivery_send(delivery_id=pk, now=now)


def _notify(o: Outage, change: str) -> None:
    services.alerts_notify(outage=o, change=change)
    _send_due()


def _resolve(o: Outage) -> None:
    Outage.objects.filter(pk=o.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now() - timedelta(minutes=1)
    )
    o.refresh_from_db()
    _notify(o, Kind.RESOLVED)


def _relapse(o: Outage, *countries: str) -> None:
    """What detection writes when the outage re-fires: REOPENED, then where (COUNTRY)."""
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
    o.refresh_from_db()
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="reopened", message="")
    for country in countries:
        OutageEvent.objects.create(
            outage=o, at=timezone.now(), kind="country", country=country, message=""
        )
    _notify(o, "reopened")


def _told(subscription) -> list[tuple[str, int]]:
    rows = AlertDelivery.objects.filter(subscription=subscription, status="sent")
    return list(rows.order_by("pk").values_list("kind", "episode"))


def test_a_relapse_elsewhere_is_neither_told_nor_ended_to_a_follower_of_other_countries(
    subscriber, outage, smtp_sink
):
    germany = subscriber("de@example.com", ["DE"])
    everyone = subscriber("all@example.com")
    o = outage(["DE", "FR"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)

    _relapse(o, "FR")
    _resolve(o)

    assert _told(germany) == [("opened", 0), ("resolved", 0)]
    assert _told(everyone) == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]
    again = smtp_sink.wait_for("all@example.com", 4)[2]
    assert again["Subject"].startswith("Acme Cloud: problems again in France since ")
    text = again.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Affected: France\n" in text
    assert len(smtp_sink.to("de@example.com")) == 2


def test_a_country_joining_the_relapse_tells_its_followers_then(subscriber, outage):
    germany = subscriber("de@example.com", ["DE"])
    o = outage(["DE", "FR"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    _relapse(o, "FR")
    assert _told(germany) == [("opened", 0), ("resolved", 0)]

    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="country", country="DE")
    _notify(o, "country")
    _notify(o, "country")  # told twice: one message
    assert _told(germany) == [("opened", 0), ("resolved", 0), ("reopened", 1)]
    _resolve(o)
    assert _told(germany) == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]


def test_a_follower_never_told_hears_of_a_relapse_in_its_country_as_detected(subscriber, outage):
    o = outage(["FR"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    germany = subscriber("de@example.com", ["DE"])  # confirmed during the lull
    _relapse(o, "FR")
    assert _told(germany) == []
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="country", country="DE")
    _notify(o, "country")
    assert _told(germany) == [("opened", 1)]


def test_resolved_goes_to_those_whose_last_word_is_that_it_is_on(subscriber, outage):
    """Told "detected" and "resolved" in the first run, nothing of the second: its end is
    news to nobody there. Told "detected" and never "resolved" (dropped as it came back):
    still thinks it is on, and hears the end."""
    germany = subscriber("de@example.com", ["DE"])
    o = outage(["DE"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="reopened", message="")
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="country", country="FR")
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.RESOLVED)
    assert selectors.subscription_ids_told_active(outage=o) == []
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    assert not AlertDelivery.objects.filter(subscription=germany, episode=1).exists()


def test_a_relapse_no_country_stands_out_in_is_told_to_every_follower(subscriber, outage):
    """Fired overall with its reports spread so thin that no country sends a good share of
    them (detection records no country): it is everywhere, as an outage without countries."""
    germany = subscriber("de@example.com", ["DE"])
    o = outage(["DE", "FR"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    _relapse(o)
    assert _told(germany) == [("opened", 0), ("resolved", 0), ("reopened", 1)]


def test_a_follower_of_a_relapse_s_new_country_hears_of_the_relapse_not_the_first_run(
    subscriber, outage, smtp_sink, midday
):
    # The clock pinned: the subject words a time of another day (or, in the sink, year) apart.
    # Finding (lifecycle tester 4): a US follower's first message said "problems detected in
    # United States since 12:44 ... detected 1 min after it started", with the German first
    # run's 243 reports and problems, where the US had had 15 reports since 13:11.
    us = subscriber("us@example.com", ["US"])
    o = outage(["DE"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    came_back = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    for k in range(2):
        Bucket.objects.create(
            service=o.service,
            country="",
            minute=came_back + timedelta(minutes=k),
            reports=8,
            counted=7 + k,
            reporters=7 + k,
            problems={"app": 7 + k},
        )
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
    o.refresh_from_db()
    OutageEvent.objects.create(
        outage=o, at=timezone.now(), kind="reopened", since=came_back, message=""
    )
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="country", country="US")
    _notify(o, "reopened")

    [email] = smtp_sink.wait_for("us@example.com", 1)
    since = came_back.strftime("%H:%M")
    assert email["Subject"] == (
        f"Acme Cloud: problems detected in the United States since {since} UTC"
    )
    text = email.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"Since: {came_back:%-d %b} {since} UTC; detected at" in text
    assert "15 reports since they came back." in text
    assert "(15)" in text and "(40)" not in text  # the relapse's problems, not the first run's
    assert "where about 3 are normal" not in text  # the first run's peak and normal
    assert _told(us) == [("opened", 1)]
    # A chat channel's "peak" field is the relapse's too.
    delivery = AlertDelivery.objects.get(subscription=us)
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    assert notice.figures.rate == "About 8 reports a minute"
    assert "About 8 reports a minute" in str(channels.slack.payload(notice))
    # A webhook's `outage` is the outage, as the API gives it; the relapse has its own object
    # (its countries and problems beside the first run's peak and onset made one object of
    # two: cross-surface tester, forty-seventh session).
    body = channels.webhook.payload(notice)
    o.refresh_from_db()
    assert body["outage"]["countries"] == o.countries
    assert body["outage"]["top_problems"][0] == {"problem": "login", "name": "Login", "count": 40}
    assert body["relapse"] == {
        "episode": delivery.episode,
        "since": came_back.isoformat().replace("+00:00", "Z"),
        "detected_at": body["relapse"]["detected_at"],
        "countries": ["US"],
        "top_problems": [{"problem": "app", "name": "App", "count": 15}],
    }


def test_a_relapse_names_only_problems_from_more_sites_than_one_host_holds(
    subscriber, outage, smtp_sink, midday
):
    """One host's four sites (its IPv4, its IPv6 /48, a tunnel's /48, a phone's network)
    reporting "website" in a relapse: its followers read "Website (4)" under "Most reported
    problems" (abuse tester); the outage's problems need five sites, a relapse's too."""
    everyone = subscriber("all@example.com")
    o = outage(["DE"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    came_back = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    Bucket.objects.create(
        service=o.service, country="", minute=came_back, reports=12, counted=11,
        reporters=11, problems={"app": 7, "website": 4},
    )  # fmt: skip
    website = ProblemType.objects.get(slug="website")
    OutageProblemSite.objects.bulk_create(
        OutageProblemSite(outage=o, problem=website, site_key=f"host-{k}") for k in range(4)
    )
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
    o.refresh_from_db()
    OutageEvent.objects.create(
        outage=o, at=timezone.now(), kind="reopened", since=came_back, message=""
    )
    _notify(o, "reopened")
    again = smtp_sink.wait_for("all@example.com", 3)[2]
    text = again.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Most reported problems: App (7)\n" in text
    assert _told(everyone)[-1] == ("reopened", 1)


def _reads(delivery: AlertDelivery) -> tuple[int, int]:
    """(reads of the outage's timeline, reads of problem names) while building its notice."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        presentation.notice_build(delivery=delivery, now=timezone.now())
    sql = [q["sql"] for q in queries.captured_queries]
    timeline = OutageEvent._meta.db_table
    return (
        sum(f'FROM "{timeline}"' in s for s in sql),
        sum("problemtype" in s for s in sql),
    )


def test_a_notice_reads_the_relapse_and_the_problem_names_once_each(subscriber, outage, midday):
    """Each read is a query per message sent: the relapse's episode was read for its
    countries and again for its figures, a first run's problems for the figures and again
    for the webhook's explanation (review, thirty-ninth session)."""
    us = subscriber("us@example.com", ["US"])
    everyone = subscriber("all@example.com")
    o = outage(["DE"], minutes_ago=60)
    _notify(o, Kind.OPENED)
    _resolve(o)
    came_back = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    Bucket.objects.create(
        service=o.service, country="", minute=came_back, reports=8, counted=7, problems={"app": 7}
    )
    OutageEvent.objects.create(
        outage=o, at=timezone.now(), kind="reopened", since=came_back, message=""
    )
    OutageEvent.objects.create(outage=o, at=timezone.now(), kind="country", country="US")
    _notify(o, "reopened")
    first_run = AlertDelivery.objects.get(subscription=everyone, kind=Kind.OPENED)
    relapse = AlertDelivery.objects.get(subscription=us)
    # A first run: no timeline read at all, and one for the problems' names.
    assert _reads(first_run) == (0, 1)
    # A relapse: one timeline read; which of its problems have the sites to be named, their
    # names and the outage's (the webhook's explanation sums up the whole outage).
    assert _reads(relapse) == (1, 3)
