"""detection.live: one read per page, and the live.json answers rendered from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from detection import live
from detection.cache import data_version_bump
from detection.models import Bucket, JobCursor, Outage, SeriesState
from reports.models import Report
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    country_state_make,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_down(service):
    """Twenty minutes of 30 reports a minute from Germany and France; the detector opened an
    outage and marked Germany as having problems at ten times its normal level."""
    now = minute_now()
    quiet = {now - timedelta(minutes=m): 2 for m in range(21, 300)}
    loud = {now - timedelta(minutes=m): 30 for m in range(1, 21)}
    buckets_make(service, quiet | loud)
    buckets_make(service, loud, country="DE")
    buckets_make(service, {now - timedelta(minutes=5): 3}, country="FR")
    baseline_store(service, flat_baseline(2.0))
    state = country_state_make(service, "DE", 2)
    SeriesState.objects.filter(pk=state.pk).update(observed=30, expected=3)
    outage = outage_make(service, started_at=now - timedelta(minutes=20), countries=("DE",))
    status_make(service, 2, outage=outage, countries=("DE",), since=outage.started_at)
    return outage


def resolve(service, outage: Outage) -> None:
    Outage.objects.filter(pk=outage.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now()
    )
    status_make(service, 0, countries=())


def levels(rows) -> dict[str, tuple[str, int]]:
    return {row.country: (row.level, row.shade) for row in rows}


def test_countries_take_their_level_from_the_current_status(service, acme_down):
    read = live._service_live(service)
    assert levels(read.countries) == {"DE": ("problems", 2), "FR": ("ok", 0)}
    germany = read.countries[0]
    assert (germany.name, germany.count, germany.excess) == ("Germany", 600, 10.0)


def test_no_country_has_problems_after_the_outage_resolved(service, acme_down):
    resolve(service, acme_down)
    # Germany's own series state still says "problems": it is only rewritten when the
    # series is judged again.
    assert SeriesState.objects.get(service=service, country="DE").level == 2
    read = live._service_live(service)
    assert read.state.level == 0
    assert levels(read.countries) == {"DE": ("ok", 0), "FR": ("ok", 0)}


def test_a_country_is_never_worse_than_its_service(service, acme_down):
    status_make(service, 1, countries=("DE",))
    assert levels(live._service_live(service).countries)["DE"] == ("possible", 2)


def test_charts_end_at_the_bucketed_minutes(service, acme_down):
    now = minute_now()
    JobCursor.objects.create(name="buckets", position=now - timedelta(minutes=3))
    read = live._service_live(service)
    assert read.live.step_minutes == 1
    assert len(read.live.points) == live.LIVE_HOURS * 60
    assert read.live.end == now - timedelta(minutes=3)
    assert read.day.end == now - timedelta(minutes=3)  # the 24-hour chart too
    assert read.live.points[-1].observed == 30 and read.live.points[-1].complete
    assert read.highlight == [(acme_down.started_at, None)]


def test_reports_falling_judged_on_the_live_minutes(client, service, acme_down):
    assert live._service_live(service).state.falling is False
    now = minute_now()
    # The newest five closed minutes back to normal while the outage is still open.
    newest = Bucket.objects.filter(service=service, minute__gte=now - timedelta(minutes=5))
    newest.update(counted=2, reporters=2)
    assert live._service_live(service).state.falling is True
    data_version_bump()
    status = client.get("/services/acme/live.json").json()["regions"]["status"]
    assert "status-falling" in status
    assert "data-status-badge>Reports falling<" in status
    # One verdict everywhere: the status row's newest minute (40) is still high, which the
    # board and the API used to judge by, saying "Problems detected" beside the page.
    home = client.get("/").content.decode()
    card = home[home.index('data-board-service="acme"') :]
    assert card[: card.index("</a>")].count("data-status-badge>Reports falling<") == 1
    # The catalog's card of the same service says the same, in the same colour as the
    # service page's badge (it said "Problems detected" in red below the board: pages tester
    # F15).
    falling_badge = 'class="badge badge-possible" data-status-badge>Reports falling<'
    assert home.count(falling_badge) == 2 and "Problems detected" not in home
    assert falling_badge in client.get("/live.json").json()["cards"]["acme"]["html"]
    for body in (
        client.get("/api/v1/services/acme/").json()["status"],
        client.get("/api/v1/status/").json()["results"][0],
    ):
        assert (body["label"], body["reports_falling"]) == ("Reports falling", True)


def test_a_minute_we_did_not_hear_is_no_fall(service, acme_down):
    """With Redis away, reports were stored uncounted: the status read that minute's few
    counted ones as a fall, "Reports are falling ... may be over", while the tick held the
    outage open (durability tester F2)."""
    from reports.models import UncheckedMinute

    now = minute_now()
    newest = Bucket.objects.filter(service=service, minute__gte=now - timedelta(minutes=5))
    newest.update(counted=2, reporters=2)
    UncheckedMinute.objects.create(minute=now - timedelta(minutes=2))
    assert live._service_live(service).state.falling is False
    UncheckedMinute.objects.all().delete()
    assert live._service_live(service).state.falling is True


def test_the_outage_page_says_reports_are_falling_as_the_service_page_does(client, acme_down):
    # A reader arriving from an alert email saw "Ongoing" and "Why we think Acme Cloud is
    # down" while the service page said the problems may be over (pages tester F16).
    page = client.get(f"/outages/{acme_down.pk}/").content.decode()
    assert "Ongoing</span>" in page and "may be over" not in page
    newest = Bucket.objects.filter(minute__gte=minute_now() - timedelta(minutes=5))
    newest.update(counted=2, reporters=2)
    data_version_bump()
    page = client.get(f"/outages/{acme_down.pk}/").content.decode()
    assert '<span class="badge badge-possible">Reports falling</span>' in page
    assert "Ongoing</span>" not in page
    when = client.get(f"/outages/{acme_down.pk}/live.json").json()["regions"]["outage-when"]
    assert "Reports are falling at Acme Cloud" in when and "may be over." in when


def test_a_sustained_surge_is_not_falling_while_as_many_networks_report(client, service, midday):
    # A surge from a few hundred provider blocks: the onset minute counts every block's
    # allowance, then the counted rate settles near blocks x allowance / window, far below
    # it, while as many networks report each minute. It read "Reports falling ... may be
    # over" (scale tester, fortieth session).
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=m): 2 for m in range(21, 300)})
    baseline_store(service, flat_baseline(2.0))
    onset = now - timedelta(minutes=20)
    Bucket.objects.bulk_create(
        Bucket(
            service=service,
            minute=onset + timedelta(minutes=m),
            counted=1150 if m == 0 else 20,
            reports=2400,
            reporters=2000,
        )
        for m in range(20)
    )
    outage = outage_make(service, started_at=onset)
    Outage.objects.filter(pk=outage.pk).update(peak_observed=1150, peak_expected=2)
    status_make(service, 2, outage=outage, since=onset, observed=20, expected=2)

    state = live._service_live(service).state
    assert (state.falling, state.networks, state.peak_networks) == (False, 2000, 2000)
    status = client.get("/api/v1/services/acme/").json()["status"]
    assert (status["label"], status["reports_falling"]) == ("Problems detected", False)
    # Nor "dropped ... confirming whether it is over" for the newest minute.
    assert status["summary"] == (
        "User reports indicate problems at Acme Cloud since 11:40 UTC. Now about 20 reports a "
        "minute, where about 2 are normal. 2,000 networks reported in the last minute: each "
        "counts once in 15 minutes, so fewer reports are counted than arrive."
    )
    # When people stop, the networks fall with the counted reports: falling.
    newest = Bucket.objects.filter(service=service, minute__gte=now - timedelta(minutes=5))
    newest.update(counted=3, reports=3, reporters=3)
    assert live._service_live(service).state.falling is True


def test_an_outage_in_its_first_minutes_is_not_falling(client, service):
    # Detected in the first loud minute: the newest five are four quiet ones and one at the
    # peak, whose mean is far below the peak (it said "Reports falling ... may be over" at
    # the outage's start, on the status API and the home page).
    now = minute_now()
    quiet = {now - timedelta(minutes=m): 2 for m in range(2, 300)}
    buckets_make(service, quiet | {now - timedelta(minutes=1): 40})
    baseline_store(service, flat_baseline(2.0))
    outage = outage_make(service, started_at=now - timedelta(minutes=1))
    Outage.objects.filter(pk=outage.pk).update(peak_observed=40, peak_expected=2)
    status_make(service, 2, outage=outage, since=outage.started_at)

    assert live._service_live(service).state.falling is False
    status = client.get("/api/v1/status/").json()["results"][0]
    assert (status["label"], status["reports_falling"]) == ("Problems detected", False)
    # Five minutes in, back near normal: now it may say so.
    Bucket.objects.filter(service=service, minute__gte=now - timedelta(minutes=1)).update(counted=2)
    Outage.objects.filter(pk=outage.pk).update(started_at=now - timedelta(minutes=5))
    assert live._service_live(service).state.falling is True


def test_home_sparklines_hold_closed_hours_only(make_service):
    service = make_service("acme", "Acme Cloud")
    now = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    buckets_make(service, {now - timedelta(minutes=m): 5 for m in range(1, 30)})  # this hour
    buckets_make(service, {datetime(2026, 3, 4, 9, m, tzinfo=UTC): 1 for m in range(60)})
    read = live._home_live(now=now)
    line = read.lines[service.pk]
    assert len(line) == 24
    assert line[-1] == 60  # 09:00-10:00, the newest closed hour; 10:00-10:30 not drawn
    assert sum(line) == 60
    assert read.slugs == {service.pk: "acme"}


def test_subdivisions_named_in_counted_reports(service, problem_types):
    now = timezone.now()
    for subdivision, n in (("DE-BE", 3), ("DE-BY", 1), ("", 4)):
        for i in range(n):
            Report.objects.create(
                service=service,
                problem=problem_types["login"],
                country="DE",
                subdivision=subdivision,
                source="web",
                created_at=now - timedelta(minutes=i + 1),
                reporter_key=f"k{subdivision}{i}",
            )
    Report.objects.create(
        service=service,
        problem=problem_types["login"],
        country="DE",
        subdivision="DE-HH",
        source="web",
        created_at=now,
        reporter_key="repeat",
        counted=False,
    )
    rows = live.subdivision_counts(service=service)
    assert [(r["name"], r["count"]) for r in rows] == [("Berlin", 3), ("Bayern", 1)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_subdivisions_are_read_through_the_index_of_reports_that_name_one(service):
    """The read must stay one that report_region_recent can answer (its WHERE implies the
    index's condition): otherwise a day's flood without regions is scanned again. With
    sequential scans off PostgreSQL still takes another index when this one cannot serve."""
    with CaptureQueriesContext(connection) as queries:
        live.subdivision_counts(service=service)
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "report_region_recent" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a storage setting of PostgreSQL")
def test_the_reports_table_is_vacuumed_after_a_hundredth_of_it_is_new():
    """The index alone answers the regions only on pages a vacuum marked all-visible; at
    PostgreSQL's default a flood day's pages would wait for inserts of a fifth of the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Report._meta.db_table]
        )
        (options,) = cursor.fetchone()
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options


def test_service_live_json_renders_the_page_parts_from_the_same_read(midday, client, acme_down):
    # Midnight between the two reads gave the times a date in one (clock tester).
    page = client.get("/services/acme/").content.decode()
    answer = client.get("/services/acme/live.json")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-cache, max-age=0"
    body = answer.json()
    assert body["level"] == "problems"
    assert set(body["regions"]) == {
        *("status", "official", "chart", "problems", "where", "outages"),
        "pipeline",  # detection's progress, as of the poll (tests/detection/test_live_pipeline)
    }
    for name, html in body["regions"].items():
        assert f'data-live="{name}"' in html
        assert html.strip() in page, name  # the page shows exactly what a poll would
    assert 'data-country="DE" data-level="problems"' in body["regions"]["where"]
    assert 'data-chart="live"' in body["regions"]["chart"]


def test_live_json_after_resolution_agrees_with_the_status(client, service, acme_down):
    resolve(service, acme_down)
    data_version_bump()
    body = client.get("/services/acme/live.json").json()
    assert body["level"] == "ok"
    assert "badge-problems" not in body["regions"]["where"]
    assert 'data-country="DE" data-level="ok"' in body["regions"]["where"]
    assert "map-problems" not in body["regions"]["where"]


def test_home_live_json_has_the_board_and_every_card(client, acme_down):
    body = client.get("/live.json").json()
    assert 'data-board-service="acme"' in body["regions"]["board"]
    card = body["cards"]["acme"]
    assert card["level"] == "problems"
    assert "sparkline-problems" in card["html"] and "badge-problems" in card["html"]


def test_outage_live_json(client, acme_down):
    body = client.get(f"/outages/{acme_down.pk}/live.json").json()
    regions = body["regions"]
    assert set(regions) == {
        "outage-when",
        "outage-explanation",
        "outage-chart",
        "outage-timeline",
        "outage-where",
        "outage-official",
        "outage-upstream",
        "pipeline",
    }
    page = client.get(f"/outages/{acme_down.pk}/").content.decode()
    for name, html in regions.items():
        assert f'data-live="{name}"' in html
        assert html.strip() in page, name
    assert "Ongoing" in regions["outage-when"]
    assert (
        'class="map-country map-problems map-shade-2" data-country="DE"' in regions["outage-where"]
    )
    assert client.get("/outages/999999/live.json").status_code == 404


def test_live_json_is_not_sent_again_while_unchanged(client, acme_down):
    page = client.get("/services/acme/").content.decode()
    answer = client.get("/services/acme/live.json")
    etag = answer["ETag"]
    assert f'data-live-etag="{answer.json()["etag"]}"' in page
    assert etag == f'"{answer.json()["etag"]}"'
    again = client.get("/services/acme/live.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag
    status_make(acme_down.service, 0, countries=())  # what the next tick changed
    data_version_bump()
    changed = client.get("/services/acme/live.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_live_json_refuses_unknown_services_and_writes(client, service):
    assert client.get("/services/nope/live.json").status_code == 404
    assert client.post("/services/acme/live.json").status_code == 405


def test_the_status_card_says_when_it_was_updated(client, service, acme_down):
    # A page left open without JavaScript kept saying "Now ..." with no time (pages tester
    # F17); the card's region is not a live region, whose whole text was re-read each
    # minute (F14): a change of state is announced in a few words instead (status.js).
    page = client.get("/services/acme/").content.decode()
    asof = page[page.index("data-status-asof>") :]
    assert asof.startswith('data-status-asof>Updated <time datetime="')
    assert "<noscript>: this page does not refresh by itself" in asof[: asof.index("</p>")]
    status = page[page.index('id="status"') :]
    assert "aria-live" not in status[: status.index(">")]
    assert 'data-announce="Acme Cloud: Problems detected"' in status[: status.index(">")]
    assert '<p class="visually-hidden" aria-live="polite" data-live-announce></p>' in page
    # A heading of its own, for heading navigation (F22).
    assert 'aria-labelledby="status-title">' in status[: status.index(">") + 1]
    assert '<h2 class="visually-hidden" id="status-title">Status now</h2>' in status


def test_a_service_in_problems_draws_its_line_up_to_the_newest_minute(make_service):
    # Its outage began in the hour in progress: the card's line ended at the last closed
    # hour, flat under the red badge (pages tester F10).
    service = make_service("acme", "Acme Cloud")
    now = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    buckets_make(service, {now - timedelta(minutes=m): 40 for m in range(1, 11)})  # 10:20-10:29
    buckets_make(service, {datetime(2026, 3, 4, 9, m, tzinfo=UTC): 1 for m in range(60)})
    JobCursor.objects.create(name="buckets", position=now)
    outage = outage_make(service, started_at=now - timedelta(minutes=10))
    status_make(service, 2, outage=outage, since=outage.started_at)
    line = live._home_live(now=now).lines[service.pk]
    assert len(line) == 24
    assert line[-1] == 400 + 30  # 09:30-10:30: the outage's 10 minutes and half an hour of 1
    assert line[-2] == 30 and sum(line) == 460


def test_charts_say_their_figures_in_words(client, service, acme_down):
    # A screen reader had only each chart's title (pages tester F9): the figures are written
    # under it, for everyone.
    page = client.get("/services/acme/").content.decode()
    captions = [
        re.sub(r"<[^>]+>", "", part.split("</p>")[0])
        for part in page.split('<p class="chart-caption muted">')[1:]
    ]
    assert len(captions) == 2
    live_caption = captions[0]
    assert live_caption.startswith("Highest: 30 reports a minute at ")
    assert "Newest: 30 reports a minute at " in live_caption
    assert "where about 2 are normal." in live_caption
    assert "Shaded: problems since " in live_caption
    assert "a minute on average" in captions[1]  # the 15-minute chart
    outage_page = client.get(f"/outages/{acme_down.pk}/").content.decode()
    assert outage_page.count('<p class="chart-caption muted">Highest: ') == 1


def test_a_relapse_is_shaded_as_two_runs_not_across_its_lull(midday, client, service, acme_down):
    # The charts shaded one band from the first run's onset to now, across minutes the
    # timeline calls back to normal (pages tester F21).
    from detection.models import OutageEvent

    now = minute_now()
    lull, back = now - timedelta(minutes=14), now - timedelta(minutes=6)
    for kind, since in ((OutageEvent.Kind.RESOLVED, lull), (OutageEvent.Kind.REOPENED, back)):
        OutageEvent.objects.create(outage=acme_down, at=since, kind=kind, since=since, message="")
    Outage.objects.filter(pk=acme_down.pk).update(paused_minutes=8)
    outage = Outage.objects.get(pk=acme_down.pk)
    runs = [(outage.started_at, lull), (back, None)]
    assert live._outage_live(outage).highlight == runs
    assert live._service_live(service).highlight == runs
    chart = client.get(f"/outages/{outage.pk}/live.json").json()["regions"]["outage-chart"]
    assert chart.count('class="chart-outage"') == 4  # two runs, in the wide and narrow drawing
    caption = re.sub(r"<[^>]+>", "", chart.split('class="chart-caption muted">')[1])
    assert re.search(r"Shaded: problems from \d\d:\d\d UTC to \d\d:\d\d UTC and since ", caption)
    # An outage without a lull is one band.
    Outage.objects.filter(pk=acme_down.pk).update(paused_minutes=0)
    outage.paused_minutes = 0
    assert live._outage_live(outage).highlight == [(outage.started_at, None)]


def test_a_minute_whose_submissions_found_no_database_is_no_fall(midday, service, acme_down):
    """The database away: as many report submissions failed in a minute as were stored in it,
    so its buckets hold half of what was sent or less, and its few counted reports are no
    fall (reports.intake). Fewer failed than stored, the minute counts as heard."""
    from reports.intake import submission_failed

    now = minute_now()
    newest = Bucket.objects.filter(service=service, minute__gte=now - timedelta(minutes=5))
    newest.update(counted=2, reporters=2)  # 30 stored in each overall minute, 2 counted
    for _ in range(29):
        submission_failed(now=now - timedelta(minutes=3))
    assert live._service_live(service).state.falling is True
    submission_failed(now=now - timedelta(minutes=3))
    assert live._service_live(service).state.falling is False
