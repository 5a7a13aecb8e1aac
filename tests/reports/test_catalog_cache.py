"""The catalog held in process (reports.cache): no queries per report, edits seen everywhere."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from reports import cache as catalog_cache
from reports.cache import VERSION_KEY, catalog_get, catalog_service
from reports.models import ProblemType, Service

URL = "/api/v1/reports/"


def _post(client, **body):
    payload = json.dumps({"service": "acme", "problem": "login", "country": "DE", **body})
    return client.post(URL, data=payload, content_type="application/json")


@pytest.mark.django_db
def test_catalog_is_read_from_memory_after_the_first_load(service):
    assert catalog_service("acme").service == service
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            entry = catalog_service("acme")
    assert len(queries) == 0
    assert sorted(entry.problems) == ["app", "login", "website"]


@pytest.mark.django_db
def test_problem_type_added_to_a_service_is_offered_at_once(api_client, service, problem_types):
    assert _post(api_client, problem="payments").status_code == 400
    service.problem_types.add(problem_types["payments"])
    assert _post(api_client, problem="payments").status_code == 201


@pytest.mark.django_db
def test_deactivated_service_is_unknown_at_once(api_client, service):
    assert _post(api_client).status_code == 201
    service.is_active = False
    service.save()
    response = _post(api_client)
    assert response.status_code == 400
    assert "Unknown service" in response.json()["fields"]["service"][0]


@pytest.mark.django_db
def test_renamed_problem_type_is_seen_at_once(service, problem_types):
    assert "login" in catalog_service("acme").problems
    problem_types["login"].slug = "sign-in"
    problem_types["login"].save()
    assert sorted(catalog_service("acme").problems) == ["app", "sign-in", "website"]


@pytest.mark.django_db(transaction=True)
def test_edit_is_announced_to_other_processes_only_after_commit(service, settings):
    from django.core.cache import cache

    catalog_get()
    before = cache.get(VERSION_KEY)
    with transaction.atomic():
        Service.objects.filter(pk=service.pk).first().save()
        # Another process that reloaded now would read the old rows: no announcement yet.
        assert cache.get(VERSION_KEY) == before
    assert cache.get(VERSION_KEY) != before


@pytest.mark.django_db(transaction=True)
def test_another_process_reloads_after_its_version_check(service, problem_types, settings):
    settings.CATALOG_CHECK_SECONDS = 0  # check Redis on every read
    # This process's copy, as a second web process would still hold it.
    other_process_copy = catalog_get()
    service.problem_types.add(problem_types["payments"])  # edited (and committed) elsewhere
    catalog_cache._current = other_process_copy
    assert "payments" in catalog_service("acme").problems


@pytest.mark.django_db(transaction=True)
def test_version_check_waits_for_its_interval(service, problem_types, settings, monkeypatch):
    settings.CATALOG_CHECK_SECONDS = 30
    clock = [1000.0]
    monkeypatch.setattr(catalog_cache, "_clock", lambda: clock[0])
    other_process_copy = catalog_get()
    service.problem_types.add(problem_types["payments"])
    catalog_cache._current = other_process_copy
    assert "payments" not in catalog_service("acme").problems  # not asked Redis yet
    clock[0] += 31
    assert "payments" in catalog_service("acme").problems


@pytest.mark.django_db(transaction=True)
def test_edits_without_signals_are_seen_within_the_maximum_age(service, settings, monkeypatch):
    settings.CATALOG_MAX_AGE_SECONDS = 60
    clock = [1000.0]
    monkeypatch.setattr(catalog_cache, "_clock", lambda: clock[0])
    catalog_get()
    Service.objects.filter(pk=service.pk).update(name="Acme Renamed")  # no signal
    assert catalog_service("acme").service.name == "Acme Cloud"
    clock[0] += 61
    assert catalog_service("acme").service.name == "Acme Renamed"


@pytest.mark.django_db(transaction=True)
def test_lost_version_key_makes_every_process_reload(service, settings):
    from django.core.cache import cache

    settings.CATALOG_CHECK_SECONDS = 0
    other_process_copy = catalog_get()
    ProblemType.objects.filter(slug="app").update(name="Mobile app")  # no signal
    cache.delete(VERSION_KEY)  # Redis restarted or flushed
    catalog_cache._current = other_process_copy
    assert catalog_service("acme").problems["app"].name == "Mobile app"


def test_an_edit_with_redis_down_is_logged_once_and_says_when_others_reload(
    monkeypatch, caplog, settings
):
    """`make run` loads the catalog before its Redis runs: one readable line, no error."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    settings.CATALOG_MAX_AGE_SECONDS = 300
    monkeypatch.setattr(catalog_cache.cache, "set", down)
    monkeypatch.setattr(catalog_cache, "_unannounced_logged_at", float("-inf"))
    with caplog.at_level("WARNING", logger="reports.cache"):
        catalog_cache.catalog_version_bump()
        catalog_cache.catalog_version_bump()
    lines = [r.getMessage() for r in caplog.records if r.name == "reports.cache"]
    assert lines == [
        "Cache unavailable (Connection refused); catalog edits not announced:"
        " running processes pick them up within 300 s"
    ]


@pytest.mark.django_db
def test_with_the_database_down_a_process_keeps_its_copy_and_waits_once(
    service, settings, monkeypatch
):
    """Each request queued on the lock waited DB_POOL_TIMEOUT in turn, the fifth 28 s for
    its 503, and clients timed out instead (durability tester F3)."""
    from django.db import OperationalError

    settings.CATALOG_MAX_AGE_SECONDS = 60
    assert catalog_cache._one_wait() == 3  # no pool in tests: DB_POOL_TIMEOUT's default
    clock = [1000.0]
    monkeypatch.setattr(catalog_cache, "_clock", lambda: clock[0])
    copy = catalog_get()
    loads = []

    def down():
        loads.append(clock[0])
        raise OperationalError("connection refused")

    monkeypatch.setattr(catalog_cache, "_load", down)
    clock[0] += 61  # the copy is due for a reload
    assert catalog_get() is copy and catalog_service("acme").service == service
    assert len(loads) == 1  # the second read took the first one's answer
    clock[0] += 3  # a wait later, it tries again
    assert catalog_get() is copy and len(loads) == 2

    # Without a copy (a process started while the database is down): one wait, then the
    # same answer at once for the requests queued behind it.
    catalog_cache._current = None
    clock[0] += 3
    for _ in range(3):
        with pytest.raises(OperationalError):
            catalog_get()
    assert len(loads) == 3
    catalog_cache.catalog_forget()  # a change of the catalog: the next read tries at once
    with pytest.raises(OperationalError):
        catalog_get()
    assert len(loads) == 4


def test_one_wait_is_the_web_servers_pool_timeout(settings, monkeypatch):
    # The setting DB_POOL_TIMEOUT is the pool's option, not a Django setting: read as one,
    # every report during a database outage was a 500 (CI, forty-eighth session).
    monkeypatch.setitem(settings.DATABASES["default"], "OPTIONS", {"pool": {"timeout": 5.0}})
    assert catalog_cache._one_wait() == 5.0
