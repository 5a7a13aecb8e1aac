"""Two detection runs at once on the same minutes (a beat overlapping the last, a manual run
beside the worker): real threads on PostgreSQL. Guarded by the tick's claim (the cursor's
row locked, then a conditional UPDATE, in the transaction that writes the verdicts) and the
aggregation's lock on its watermark."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertDelivery, Subscription
from detection.models import Bucket, Outage, OutageEvent, SeriesState
from detection.services import batches, buckets_aggregate, detect_tick, tick
from reports import catalog
from reports.models import Service
from tests.concurrency import Paused
from tests.detection.conftest import T0

M = dt.timedelta(minutes=1)


def _both_at_once(work) -> list:
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work()
        except BaseException as exc:  # handed to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent ticks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_judge_each_minute_once_and_open_one_outage(history, send_reports):
    Subscription.objects.create(email="ann@example.com", service=history, confirmed_at=T0)
    batches.baseline_cache().clear()
    tick.tick_forget()
    judged = []
    for k in range(16):
        minute = T0 + k * M
        send_reports(history, minute, 2, country="DE")
        if k >= 10:
            send_reports(history, minute, 25, country="DE", problem="app")
        now = minute + M + dt.timedelta(seconds=2)

        def run(now=now):
            buckets_aggregate(now=now)
            return detect_tick(now=now)

        results = _both_at_once(run)
        assert not [r for r in results if isinstance(r, BaseException)]
        judged.append(sorted(len(r) for r in results))
    # Each minute judged by exactly one of the two runs.
    assert judged == [[0, 1]] * 16
    outage = Outage.objects.get(service=history)
    assert outage.is_active
    assert OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.OPENED).count() == 1
    assert AlertDelivery.objects.filter(outage=outage, kind="opened").count() == 1
    overall = Bucket.objects.filter(service=history, country="", minute__gte=T0)
    assert [b.reports for b in overall.order_by("minute")][:16] == [2] * 10 + [27] * 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent ticks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_clock_jump_reset_does_not_undo_a_newer_tick(history, send_reports, monkeypatch):
    """A run that found the cursor ahead of its clock put it back unconditionally: a second
    run that had reset it and judged the newest minute meanwhile was undone, and the first
    judged that minute again (its states stepped twice, its outage events twice)."""
    for k in range(6):
        send_reports(history, T0 + k * M, 2, country="DE")
    detect_tick(now=T0 + dt.timedelta(hours=1))  # one run an hour ahead
    now = T0 + 6 * M + dt.timedelta(seconds=2)
    buckets_aggregate(now=now)
    batches.baseline_cache().clear()
    tick.tick_forget()
    first = Paused(lambda: detect_tick(now=now))
    log_error = tick.logger.error

    def error(*args, **kwargs):  # between the first run's read of the cursor and its reset
        log_error(*args, **kwargs)
        first.point()

    monkeypatch.setattr(tick.logger, "error", error)
    first.start()
    second = detect_tick(now=now)  # resets the cursor and judges the newest minute
    assert first.release() == []  # that minute was judged: nothing left for the first run
    assert [d.minute for d in second] == [T0 + 5 * M]


def _service_rows_locked(queries: list[dict]) -> list[int]:
    """The service ids the captured queries locked, each where it was first locked."""
    order: list[int] = []
    for query in queries:
        sql = query["sql"]
        if 'FROM "reports_service"' not in sql or "FOR NO KEY UPDATE" not in sql:
            continue
        found = re.search(r'"reports_service"\."id" (?:= (\d+)|IN \(([\d, ]+)\))', sql)
        assert found is not None, sql
        ids = [int(x) for x in (found.group(1) or found.group(2)).split(",")]
        order += [i for i in sorted(ids) if i not in order]
    return order


@pytest.fixture
def retired(make_service):
    """A service made before `history` (a lower pk), its outage open, retired later."""
    return make_service("retired-one")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_tick_locks_the_services_it_tells_of_in_pk_order(retired, history, send_reports):
    """The tick told alerts of its outages service by service in pk order, then of those of
    retired services: a retired one of a lower pk was locked after a higher one, out of the
    order the catalog load takes them in (tests/alerts/test_races.py)."""
    assert retired.pk < history.pk
    old = Outage.objects.create(
        service=retired, started_at=T0, detected_at=T0, peak_observed=9, peak_expected=1
    )
    for k in range(10):
        send_reports(history, T0 + k * M, 2, country="DE")
        buckets_aggregate(now=T0 + (k + 1) * M + dt.timedelta(seconds=2))
        detect_tick(now=T0 + (k + 1) * M + dt.timedelta(seconds=2))
    for k in range(10, 16):  # until history's outage opens: the retired one ends then too
        type(retired).objects.filter(pk=retired.pk).update(is_active=False)
        Outage.objects.filter(pk=old.pk).update(status="active", resolved_at=None)
        send_reports(history, T0 + k * M, 2, country="DE")
        send_reports(history, T0 + k * M, 25, country="DE", problem="app")
        now = T0 + (k + 1) * M + dt.timedelta(seconds=2)
        buckets_aggregate(now=now)
        with CaptureQueriesContext(connection) as captured:
            detect_tick(now=now)
        if Outage.objects.filter(service=history).exists():
            break
    assert Outage.objects.get(service=history).is_active
    assert _service_rows_locked(captured.captured_queries) == [retired.pk, history.pk]


def _renaming(*services) -> dict:
    """A catalog file renaming each of `services` (slug "x" -> "x-new"), in that order."""
    return {
        "categories": [{"slug": "test-category", "name": "Tests"}],
        "problem_types": [{"slug": "login", "name": "Login"}],
        "services": [
            {
                "slug": f"{s.slug}-new",
                "renamed_from": [s.slug],
                "name": s.name,
                "category": "test-category",
                "website": s.website,
                "problems": ["login"],
            }
            for s in services
        ],
    }


def _waiting_on_a_lock(*, count: int) -> None:
    """Wait until `count` other connections wait for a lock (at most 10 s)."""
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError("nobody came to wait for a lock")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_catalog_load_renaming_services_while_the_tick_writes_their_states_is_no_deadlock(
    make_service, send_reports, monkeypatch
):
    """A rename writes the slug, a key: FOR UPDATE, which waits for the KEY SHARE lock of
    a row inserted that references the service (Django's foreign keys are deferred: taken
    at the inserter's commit). The load took its rows FOR NO KEY UPDATE and upgraded each
    as it renamed it, in the file's order; the tick's first minute of two services inserts
    their states and commits, locking both KEY SHARE in pk order. The load had renamed the
    higher one; the tick locked the lower and waited for the higher; the load waited for
    the lower to rename it: a deadlock, one of them rolled back."""
    low, high = make_service("low-one"), make_service("high-one")
    assert low.pk < high.pk
    for service in (low, high):
        send_reports(service, T0, 3, country="DE")
    now = T0 + M + dt.timedelta(seconds=2)
    buckets_aggregate(now=now)
    renames = 0
    rename = catalog.service_rename

    def service_rename(**kwargs):  # the load stops once it has renamed the first
        nonlocal renames
        renames += 1
        if renames == 2:
            load.point()
        return rename(**kwargs)

    monkeypatch.setattr(catalog, "service_rename", service_rename)
    load = Paused(lambda: catalog.catalog_sync(data=_renaming(high, low)))
    load.start()
    errors: list[BaseException] = []

    def tick() -> None:  # not paused: it runs until a lock of the load's holds it up
        try:
            detect_tick(now=now)
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            connections.close_all()

    ticking = threading.Thread(target=tick)
    ticking.start()
    _waiting_on_a_lock(count=1)
    load.release()
    ticking.join()
    assert errors == []
    renamed = Service.objects.filter(pk__in=[low.pk, high.pk]).values_list("slug", flat=True)
    assert sorted(renamed) == ["high-one-new", "low-one-new"]
    assert set(SeriesState.objects.values_list("service_id", flat=True)) >= {low.pk, high.pk}
