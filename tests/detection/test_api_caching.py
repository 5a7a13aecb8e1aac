"""Versioned reads: ETag/304, Redis cache invalidated by a tick, CORS, throttles, schema."""

from __future__ import annotations

import pytest
from django.test import override_settings

from detection.cache import data_version, data_version_bump, data_version_forget
from tests.detection.status_data import outage_make, status_make

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/services/acme/",
    "/api/v1/services/acme/series/?window=1h",
    "/api/v1/outages/",
    "/api/v1/status/",
]


@pytest.mark.parametrize("url", READS)
def test_reads_answer_304_while_the_data_version_is_unchanged(api_client, service, url):
    first = api_client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('W/"') and "max-age" in first["Cache-Control"]

    again = api_client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_a_tick_that_changes_the_data_changes_the_etag(api_client, service):
    etag = api_client.get("/api/v1/status/")["ETag"]
    status_make(service, 2, outage=outage_make(service))
    data_version_bump()
    response = api_client.get("/api/v1/status/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_a_tick_that_changes_nothing_still_answers_304(api_client, service):
    etag = api_client.get("/api/v1/status/")["ETag"]
    data_version_bump()
    assert api_client.get("/api/v1/status/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_etags_survive_no_redis_restart_as_stale_matches(api_client, service):
    """Redis restarts: the version counter and cache are gone, the data changed meanwhile."""
    from django.core.cache import cache

    etag = api_client.get("/api/v1/status/")["ETag"]
    cache.clear()  # what a Redis restart does
    status_make(service, 2, outage=outage_make(service))
    cache.clear()
    data_version_forget()  # a second later, the process asks Redis again
    response = api_client.get("/api/v1/status/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_restarted_version_counter_never_reuses_an_old_number():
    from django.core.cache import cache

    before = data_version()
    for _ in range(3):
        data_version_bump()
    cache.clear()
    data_version_forget()
    assert data_version() > before + 3


@pytest.mark.parametrize(
    "url", ["/api/v1/services/nope/", "/api/v1/outages/999999/", "/api/v1/services/nope/series/"]
)
def test_if_none_match_star_does_not_hide_a_missing_resource(api_client, url):
    response = api_client.get(url, HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_if_none_match_star_matches_an_existing_resource(api_client, service):
    response = api_client.get("/api/v1/services/acme/", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 304


def test_etag_depends_on_the_request(api_client, service):
    one = api_client.get("/api/v1/services/acme/series/", {"window": "1h"})["ETag"]
    six = api_client.get("/api/v1/services/acme/series/", {"window": "6h"})["ETag"]
    status = api_client.get("/api/v1/status/")["ETag"]
    assert len({one, six, status}) == 3


@pytest.mark.parametrize(
    ("path", "used"),
    [
        ("/api/v1/services/acme/series/", {"window": "1h"}),
        ("/api/v1/outages/", {"status": "active", "page_size": "5"}),
        ("/api/v1/status/", {}),
    ],
)
def test_parameters_a_read_does_not_take_are_refused_and_cache_nothing(
    api_client, service, path, used
):
    # Each ?z=<n> was an entry of its own: one client parked tens of megabytes in Redis, the
    # broker too (soak tester, forty-sixth session). Such a parameter is now a 400.
    from django.core.cache import cache

    def keys() -> set[str]:
        return set(cache._cache.get_client().keys("*detection:api:*"))

    api_client.get(path, used)
    before = keys()
    for junk in range(5):
        refused = api_client.get(path, {**used, "z": junk})
        assert refused.status_code == 400
        assert refused.json()["fields"]["z"][0].startswith("This endpoint has no parameter")
    assert keys() == before and len(before) == 1


def test_cached_content_is_served_until_a_tick_invalidates_it(api_client, service):
    assert api_client.get("/api/v1/status/").json()["count"] == 0
    status_make(service, 2, outage=outage_make(service))

    # Same data version: the cached answer, without touching the database.
    assert api_client.get("/api/v1/status/").json()["count"] == 0

    data_version_bump()
    body = api_client.get("/api/v1/status/").json()
    assert body["count"] == 1 and body["results"][0]["service"] == "acme"


def test_service_detail_is_invalidated_by_a_tick(api_client, service):
    assert api_client.get("/api/v1/services/acme/").json()["status"]["level"] == "ok"
    status_make(service, 1)
    assert api_client.get("/api/v1/services/acme/").json()["status"]["level"] == "ok"
    data_version_bump()
    assert api_client.get("/api/v1/services/acme/").json()["status"]["level"] == "possible"


def test_errors_are_not_cached_or_tagged(api_client, make_service):
    missing = api_client.get("/api/v1/services/later/")
    assert missing.status_code == 404 and "ETag" not in missing
    make_service("later")
    assert api_client.get("/api/v1/services/later/").status_code == 200


def test_reads_work_without_the_cache(api_client, service):
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = api_client.get("/api/v1/services/acme/")
        assert data_version() == 0
    assert response.status_code == 200
    assert response.json()["status"]["level"] == "ok"
    # The ETag is a hash of the body, so it needs no cache to be right.
    with override_settings(CACHES=unreachable):
        again = api_client.get("/api/v1/services/acme/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("url", READS)
def test_reads_allow_any_origin(api_client, service, url):
    response = api_client.get(url, HTTP_ORIGIN="https://dashboard.example")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_cors_preflight_for_reads(api_client):
    response = api_client.options(
        "/api/v1/status/",
        HTTP_ORIGIN="https://dashboard.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "if-none-match" in response["Access-Control-Allow-Headers"]


def test_a_browser_script_may_read_the_etag_and_retry_after(api_client, service):
    response = api_client.get("/api/v1/status/", HTTP_ORIGIN="https://dashboard.example")
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "retry-after"} <= exposed


def test_a_browser_script_may_read_where_its_outage_poll_resumes(api_client, service):
    response = api_client.get("/api/v1/outages/", HTTP_ORIGIN="https://dashboard.example")
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert response["X-Updated-Until"] and "x-updated-until" in exposed


@pytest.fixture
def low_read_rate(throttle_rate):
    throttle_rate("reads", "3/min")


def test_reads_are_throttled_per_client(api_client, service, low_read_rate):
    codes = [api_client.get("/api/v1/status/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api_client.get("/api/v1/outages/")
    assert refused.status_code == 429 and "Retry-After" in refused
    assert refused.json()["code"] == "throttled"


def test_every_read_is_documented_with_examples(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in [
        "/api/v1/services/{slug}/",
        "/api/v1/services/{slug}/series/",
        "/api/v1/outages/",
        "/api/v1/outages/{id}/",
        "/api/v1/status/",
    ]:
        get = paths[path]["get"]
        content = get["responses"]["200"]["content"]["application/json"]
        assert content.get("examples"), path
        assert "304" in get["responses"], path
    series_params = {
        p["name"] for p in paths["/api/v1/services/{slug}/series/"]["get"]["parameters"]
    }
    assert {"window", "resolution", "country"} <= series_params
    outage_params = {p["name"] for p in paths["/api/v1/outages/"]["get"]["parameters"]}
    assert {"service", "country", "status", "since", "until", "cursor"} <= outage_params


def test_a_process_asks_redis_for_the_version_at_most_once_a_second(monkeypatch):
    """Another process's tick shows here within VERSION_CHECK_SECONDS; this process's own
    bump at once."""
    from django.core.cache import cache

    from detection import cache as read_cache

    clock = [1000.0]
    monkeypatch.setattr(read_cache, "_clock", lambda: clock[0])
    seen = data_version()
    cache.incr(read_cache.VERSION_KEY)  # what a tick in the Celery worker does
    assert data_version() == seen
    clock[0] += read_cache.VERSION_CHECK_SECONDS
    assert data_version() == seen + 1
    data_version_bump()
    assert data_version() == seen + 2


def test_after_redis_failed_a_process_reads_uncached_without_asking_again(monkeypatch):
    # A Redis that hangs costs each call its socket timeout, and a page makes several: one
    # failure is remembered for REST_SECONDS, then Redis is asked again.
    from redis.exceptions import TimeoutError as RedisTimeout

    from detection import cache as read_cache
    from outagewatch import redis_rest

    clock = [1000.0]
    asked = []

    def hanging(*args, **kwargs):
        asked.append(args)
        raise RedisTimeout("Timeout reading from socket")

    monkeypatch.setattr(read_cache, "_clock", lambda: clock[0])
    monkeypatch.setattr(redis_rest, "_clock", lambda: clock[0])
    monkeypatch.setattr(read_cache.cache, "get", hanging)
    computed = [read_cache.cached_read("x", lambda: 7) for _ in range(5)]

    assert computed == [7] * 5 and len(asked) == 1
    clock[0] += redis_rest.REST_SECONDS
    monkeypatch.undo()
    monkeypatch.setattr(read_cache, "_clock", lambda: clock[0])
    monkeypatch.setattr(redis_rest, "_clock", lambda: clock[0])
    assert data_version() != 0


def test_the_cache_gives_up_on_a_hanging_redis_within_its_socket_timeout(settings):
    from django.core.cache import caches

    options = caches["default"]._options
    assert options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT <= 1
    assert options["socket_connect_timeout"] == settings.REDIS_SOCKET_TIMEOUT


@pytest.mark.parametrize("url", ["/api/", "/api/v1/", "/api/schema/"])
def test_the_indexes_and_the_schema_allow_any_origin(api_client, url):
    # A schema viewer or dashboard on another origin could not read them (API tester,
    # forty-fourth session).
    response = api_client.get(url, HTTP_ORIGIN="https://dashboard.example")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("url", ["/api/v1/reports/", "/api/v1/subscriptions/"])
def test_the_posts_send_no_cors_headers(api_client, url):
    response = api_client.options(
        url, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_a_process_s_own_answers_are_bounded_by_their_length_and_age(monkeypatch):
    # Bounded in number only, 256 of the largest reads held about 360 MB in every web
    # process for good (soak tester, forty-sixth session).
    from detection.api import views

    answers = views._LocalAnswers(size=100, max_length=1000)
    for i in range(10):
        answers.put(f"k{i}", i, 100)
    answers.put("k10", 10, 100)  # over 1000 in all: the oldest goes
    assert answers.get("k0") is None and answers.get("k1") == 1 and answers.get("k10") == 10
    answers.put("huge", "x", 200)  # over an eighth of the whole: not kept at all
    assert answers.get("huge") is None and answers.get("k1") == 1
    later = views.time.monotonic() + views.CACHE_SECONDS + 1
    monkeypatch.setattr(views.time, "monotonic", lambda: later)
    answers.put("new", "n", 10)  # the expired ones are dropped, not only passed over
    assert list(answers._items) == ["new"] and answers._length == 10
