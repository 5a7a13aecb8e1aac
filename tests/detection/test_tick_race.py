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
