"""GET /api/v1/outages/ (filters, cursor pagination) and GET /api/v1/outages/{id}/."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

import pytest

from tests.detection.status_data import baseline_store, flat_baseline, minute_now, outage_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def outages(make_service):
    """Three outages of two services: acme resolved (DE, FR), acme active (US), beta (FR)."""
    acme, beta = make_service("acme", "Acme Cloud"), make_service("beta")
    now = minute_now()
    return {
        "old": outage_make(
            acme,
            started_at=now - timedelta(days=3),
            resolved_at=now - timedelta(days=3) + timedelta(hours=1),
        ),
        "beta": outage_make(
            beta,
            started_at=now - timedelta(days=1),
            resolved_at=now - timedelta(hours=20),
            countries=("FR",),
        ),
        "now": outage_make(acme, started_at=now - timedelta(minutes=40), countries=("US",)),
    }


def _ids(body):
    return [o["id"] for o in body["results"]]


def test_outages_are_listed_newest_first(api_client, outages):
    body = api_client.get("/api/v1/outages/").json()
    assert _ids(body) == [outages["now"].pk, outages["beta"].pk, outages["old"].pk]
    first = body["results"][0]
    assert first["service"] == "acme" and first["service_name"] == "Acme Cloud"
    assert first["status"] == "active" and first["resolved_at"] is None
    assert first["countries"] == ["US"]
    assert first["api_url"].endswith(f"/api/v1/outages/{outages['now'].pk}/")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service": "acme"}, ["now", "old"]),
        ({"service": "BETA"}, ["beta"]),
        ({"country": "fr"}, ["beta", "old"]),
        ({"country": "US"}, ["now"]),
        ({"status": "active"}, ["now"]),
        ({"status": "resolved"}, ["beta", "old"]),
        ({"service": "acme", "status": "resolved", "country": "DE"}, ["old"]),
    ],
)
def test_outages_filter(api_client, outages, params, expected):
    body = api_client.get("/api/v1/outages/", params).json()
    assert _ids(body) == [outages[name].pk for name in expected]


def test_since_and_until_keep_outages_overlapping_the_period(api_client, outages):
    now = minute_now()
    since = (now - timedelta(hours=30)).isoformat()
    until = (now - timedelta(hours=2)).isoformat()
    body = api_client.get("/api/v1/outages/", {"since": since}).json()
    assert _ids(body) == [outages["now"].pk, outages["beta"].pk]
    body = api_client.get("/api/v1/outages/", {"since": since, "until": until}).json()
    assert _ids(body) == [outages["beta"].pk]
    body = api_client.get("/api/v1/outages/", {"until": "2000-01-01T00:00:00Z"}).json()
    assert body["results"] == []
    # resolved_at is the first minute after the outage: one that ended at `since` is over
    # (a client polling with its last resolved_at must not get it again), as `until` is
    # exclusive of an outage starting then.
    ended = outages["beta"].resolved_at.isoformat()
    assert _ids(api_client.get("/api/v1/outages/", {"since": ended}).json()) == [outages["now"].pk]
    began = outages["beta"].started_at.isoformat()
    assert outages["beta"].pk not in _ids(
        api_client.get("/api/v1/outages/", {"until": began}).json()
    )


def test_a_poller_asks_what_changed_since_its_last_poll(api_client, outages):
    # An outage resolved after the last poll but ended before it overlapped no `since` the
    # poller could ask (API tester, forty-fourth session).
    from detection.models import Outage

    stamp = minute_now() + timedelta(minutes=5)
    Outage.objects.update(updated_at=minute_now() - timedelta(hours=1))
    Outage.objects.filter(pk=outages["beta"].pk).update(updated_at=stamp)
    body = api_client.get("/api/v1/outages/", {"updated_since": stamp.isoformat()}).json()
    assert _ids(body) == [outages["beta"].pk]
    assert body["results"][0]["updated_at"] == stamp.isoformat().replace("+00:00", "Z")
    later = (stamp + timedelta(seconds=1)).isoformat()
    assert api_client.get("/api/v1/outages/", {"updated_since": later}).json()["results"] == []


def test_a_retired_service_s_outages_are_listed_nowhere(api_client, client, outages, make_service):
    # Its outage and service pages are 404s; the lists linked to them.
    retired = make_service("retired", is_active=False)
    gone = outage_make(retired, started_at=minute_now() - timedelta(hours=1))
    assert gone.pk not in _ids(api_client.get("/api/v1/outages/").json())
    for path in ("/outages/", "/outages/feed/", "/track-record/", "/api/v1/track-record/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"/services/retired/" not in response.content, path
    assert f"/outages/{outages['now'].pk}/".encode() in client.get("/outages/").content


def test_cursor_pagination_walks_all_outages_once(api_client, service):
    now = minute_now()
    made = [
        outage_make(
            service,
            started_at=now - timedelta(hours=2 * i + 2),
            resolved_at=now - timedelta(hours=2 * i + 1),
            events=False,
        )
        for i in range(5)
    ]
    seen, url = [], "/api/v1/outages/?page_size=2"
    pages = 0
    while url:
        body = api_client.get(url).json()
        seen += _ids(body)
        url = body["next"]
        pages += 1
    assert pages == 3
    assert seen == [o.pk for o in made]
    assert "count" not in body  # cursor pagination: no expensive COUNT


def test_pages_of_outages_that_share_a_start_stay_exact_when_one_is_added(api_client, service):
    # Outages opened in one minute (an upstream outage's members) share started_at. DRF's
    # cursor kept an offset among them: one added between two pages made the next page
    # repeat a row and leave another out.
    start = minute_now() - timedelta(hours=1)

    def tied():
        return outage_make(
            service, started_at=start, resolved_at=start + timedelta(minutes=9), events=False
        ).pk

    made = [tied() for _ in range(5)]
    first = api_client.get("/api/v1/outages/?page_size=2").json()
    tied()  # newer than every row shown: it belongs before the first page
    seen, url = _ids(first), first["next"]
    while url:
        body = api_client.get(url).json()
        seen += _ids(body)
        url = body["next"]
    assert seen == sorted(made, reverse=True)
    # And back: the previous link of the second page is the first page again.
    second = api_client.get(first["next"]).json()
    back = api_client.get(second["previous"]).json()
    assert _ids(back) == _ids(first)


def test_next_and_previous_links_are_under_site_url_whatever_the_host(
    api_client, outages, settings, django_assert_num_queries
):
    # Like `url` and `api_url` in the same body: a client that came in by a second allowed
    # name, or through a hop that drops the scheme, stays on the public address. They were
    # built from the request's Host and scheme.
    settings.SITE_URL = "https://outages.example"
    settings.ALLOWED_HOSTS = ["testserver", "internal.example"]
    first = api_client.get("/api/v1/outages/?page_size=1", HTTP_HOST="internal.example").json()
    assert first["next"].startswith("https://outages.example/api/v1/outages/?cursor=")
    assert first["results"][0]["api_url"].startswith("https://outages.example/")
    second = api_client.get(first["next"], secure=True).json()
    assert second["previous"].startswith("https://outages.example/api/v1/outages/?cursor=")
    # One body for every host, so one cached answer serves them all.
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/outages/?page_size=1").json() == first


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"service": "nope"}, "service"),
        ({"country": "XX"}, "country"),
        ({"status": "open"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_outage_filters_are_400_in_error_format(api_client, outages, params, field):
    response = api_client.get("/api/v1/outages/", params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("url", "cursor"),
    [
        ("/api/v1/outages/", "garbage"),  # not a cursor at all
        # Well-formed cursors (base64 of "p=..."), positions that are no time: anyone can
        # encode one.
        ("/api/v1/outages/", "cD0yMDI0"),  # p=2024
        ("/api/v1/outages/", "cD0A"),  # p=NUL
        ("/api/v1/services/acme/comments/", "cD1nYXJiYWdl"),  # p=garbage
    ],
)
def test_bad_cursor_is_400_naming_it_in_error_format(api_client, outages, url, cursor):
    response = api_client.get(url, {"cursor": cursor})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["cursor"]
    assert "next or previous link" in body["fields"]["cursor"][0]


def test_outage_detail_has_timeline_explanation_and_links(api_client, outages):
    outage = outages["old"]
    # A service with history (without, the decision is a new service's, as on the page).
    baseline_store(outage.service, flat_baseline())
    body = api_client.get(f"/api/v1/outages/{outage.pk}/").json()

    assert body["id"] == outage.pk and body["status"] == "resolved"
    assert [e["kind"] for e in body["timeline"]] == ["opened", "country", "resolved"]
    at = (outage.detected_at + timedelta(minutes=3)).astimezone(UTC)
    assert body["timeline"][1] == {
        "at": at.isoformat().replace("+00:00", "Z"),
        "kind": "country",
        "label": "France affected",
        "text": "About 9 reports a minute from France, where less than 1 is normal.",
        "country": "FR",
        "observed": 9.0,
        "expected": 0.4,
        "message": "France affected too.",
    }
    assert body["timeline"][-1]["at"] == body["resolved_at"]  # one end time
    # An end quotes no minute of its own: no figures, rather than "0 reports a minute".
    assert (body["timeline"][-1]["observed"], body["timeline"][-1]["expected"]) == (None, None)
    assert body["countries"] == ["DE", "FR"]
    assert [p["problem"] for p in body["top_problems"]] == ["login", "app"]
    assert (body["peak_observed"], body["peak_expected"]) == (48.0, 2.0)
    assert body["score"] == 0.998 and body["rule"] == "excess"
    assert body["networks"] == outage.networks
    assert "about 48 reports a minute, where about 2 are normal" in body["explanation"]
    # How it decided, as the outage page's "How we decided" says it.
    assert body["decision"][0].startswith("We compare the reports of every minute")
    assert any(line.startswith("It opened on ") for line in body["decision"])
    assert any(line.startswith("Highest anomaly score: 1.00") for line in body["decision"])
    links = body["links"]
    assert links["page"].endswith(f"/outages/{outage.pk}/")
    assert links["service_page"].endswith("/services/acme/")
    assert links["feed"].endswith("/services/acme/outages/feed/")


def test_unknown_outage_is_404(api_client):
    response = api_client.get("/api/v1/outages/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_country_filter_keeps_outages_where_no_single_country_stands_out(
    api_client, outages, make_service
):
    # `countries: []` is an outage everywhere: a bot polling ?country=DE for German users
    # must see it (email alerts treat it as affecting every follower too).
    everywhere = outage_make(make_service("gamma"), countries=())
    for country, expected in (
        ("DE", [everywhere.pk, outages["old"].pk]),
        ("us", [everywhere.pk, outages["now"].pk]),
        ("JP", [everywhere.pk]),
    ):
        body = api_client.get("/api/v1/outages/", {"country": country}).json()
        assert sorted(_ids(body)) == sorted(expected), country
    assert everywhere.pk in _ids(api_client.get("/api/v1/outages/").json())


def test_the_schema_says_what_empty_countries_mean(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    countries = schema["components"]["schemas"]["OutageSummary"]["properties"]["countries"]
    assert "empty" in countries["description"].lower()
    params = schema["paths"]["/api/v1/outages/"]["get"]["parameters"]
    country = next(p for p in params if p["name"] == "country")
    assert "countries" in country["description"] and "[]" in country["description"]


def _watermark(response):
    from datetime import datetime

    return datetime.fromisoformat(response["X-Updated-Until"])


def test_the_watermark_never_passes_the_time_of_the_read(api_client, outages, monkeypatch):
    from django.db import connection

    from detection import selectors
    from detection.selectors import outages as outage_reads

    read_at = minute_now() + timedelta(seconds=17)
    monkeypatch.setattr(outage_reads.timezone, "now", lambda: read_at)
    until = _watermark(api_client.get("/api/v1/outages/"))
    if connection.vendor == "postgresql":  # behind by the open transactions (this test's own
        assert until <= read_at - selectors.STAMP_MARGIN  # is not one of them) and the margin
    else:  # no open transaction can be seen: a fixed lag that covers a tick
        assert until == read_at - selectors.UNSEEN_WRITES_LAG


def test_a_revalidated_list_is_a_304_whose_watermark_moved(api_client, outages, monkeypatch):
    # The watermark moves with every read: in the ETag, no poll of an unchanged list would be
    # a 304 where answers are not cached (a cache ages them out after a tick anyway).
    from detection import selectors
    from detection.api import views

    monkeypatch.setattr(views, "data_version", lambda: 0)  # computed on each request
    reads = iter([minute_now(), minute_now() + timedelta(seconds=30)])
    monkeypatch.setattr(selectors, "outages_updated_until", lambda: next(reads))
    first = api_client.get("/api/v1/outages/")
    again = api_client.get("/api/v1/outages/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert _watermark(again) - _watermark(first) == timedelta(seconds=30)


def test_the_schema_declares_the_watermark_on_the_list(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    responses = schema["paths"]["/api/v1/outages/"]["get"]["responses"]
    for code in ("200", "304"):
        header = responses[code]["headers"]["X-Updated-Until"]
        assert header["schema"] == {"type": "string", "format": "date-time"}
    assert (
        "X-Updated-Until"
        not in schema["paths"]["/api/v1/status/"]["get"]["responses"]["200"]["headers"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_poll_is_in_the_poll_resumed_from_its_watermark(
    api_client, make_service
):
    """The API tester's form (fifty-first session): the detector stamps updated_at inside its
    tick's transaction and commits later; a poll in between does not see the change, and the
    next one, from the time of that poll, did not ask for it any more."""
    import threading

    from django.db import connection, transaction
    from django.utils import timezone

    from detection.models import Outage
    from detection.services.outages import outages_refreshed_save

    if connection.vendor != "postgresql":
        pytest.skip("two transactions at once: PostgreSQL")
    outage = outage_make(make_service("acme"), started_at=minute_now() - timedelta(minutes=5))
    Outage.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    stamped, polled = threading.Event(), threading.Event()

    def tick():
        try:
            with transaction.atomic():
                row = Outage.objects.select_for_update().get(pk=outage.pk)  # the tick's work
                outages_refreshed_save([row])
                stamped.set()
                assert polled.wait(10)
        finally:
            connection.close()

    ticking = threading.Thread(target=tick)
    ticking.start()
    assert stamped.wait(10)
    poll_sent = timezone.now()
    first = api_client.get(
        "/api/v1/outages/", {"updated_since": (poll_sent - timedelta(minutes=1)).isoformat()}
    )
    polled.set()
    ticking.join(10)

    assert first.json()["results"] == []  # not committed yet
    change = Outage.objects.get(pk=outage.pk).updated_at
    assert _watermark(first) <= change < poll_sent
    old_way = api_client.get("/api/v1/outages/", {"updated_since": poll_sent.isoformat()})
    assert old_way.json()["results"] == []  # lost for good, as the README had it
    resumed = api_client.get("/api/v1/outages/", {"updated_since": first["X-Updated-Until"]})
    assert [(o["id"], o["updated_at"]) for o in resumed.json()["results"]] == [
        (outage.pk, change.isoformat().replace("+00:00", "Z"))
    ]


def test_a_transaction_that_has_not_written_yet_holds_the_watermark_back(db):
    # It may hold a stamp already: updated_at is taken before the write that gives the
    # transaction an id, so waiting only for those with one (backend_xid) lost it.
    import threading

    from django.db import connection, transaction
    from django.utils import timezone

    from detection import selectors

    if connection.vendor != "postgresql":
        pytest.skip("open transactions are seen on PostgreSQL")
    began, opened, done = [], threading.Event(), threading.Event()

    def reader():
        try:
            with transaction.atomic():
                began.append(timezone.now())
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # begins it on the server, with no xid
                opened.set()
                assert done.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=reader)
    thread.start()
    assert opened.wait(10)
    time.sleep(3)  # longer than the margin alone
    until = selectors.outages_updated_until()
    done.set()
    thread.join(10)
    assert until <= began[0] - selectors.STAMP_MARGIN
