"""Two detection runs at once on the same minutes (a beat overlapping the last, a manual run
beside the worker): real threads on PostgreSQL. Guarded by the tick's claim (the cursor's
row locked, then a conditional UPDATE, in the transaction that writes the verdicts) and the
aggregation's lock on its watermark."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from alerts.models import AlertDelivery, Subscription
from detection.models import Bucket, Outage, OutageEvent
from detection.services import batches, buckets_aggregate, detect_tick, tick
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
    found_ahead, go_on = threading.Event(), threading.Event()
    log_error = tick.logger.error
    first_run = []

    def error(*args, **kwargs):  # between the first run's read of the cursor and its reset
        log_error(*args, **kwargs)
        if threading.current_thread() is first_run[0]:
            found_ahead.set()
            go_on.wait(30)

    monkeypatch.setattr(tick.logger, "error", error)
    results: list = []

    def first() -> None:
        try:
            results.append(detect_tick(now=now))
        except BaseException as exc:  # handed to the test
            results.append(exc)
        finally:
            connections.close_all()

    first_run.append(threading.Thread(target=first))
    first_run[0].start()
    assert found_ahead.wait(30)
    second = detect_tick(now=now)  # resets the cursor and judges the newest minute
    go_on.set()
    first_run[0].join()
    assert [d.minute for d in second] == [T0 + 5 * M]
    assert results == [[]]  # that minute was judged: nothing left for the first run
