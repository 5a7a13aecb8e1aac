"""A read on a second connection beside the tick's own (detection.services.overlap)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pytest
from django.db import connection, transaction

from detection.models import Outage, SeriesState
from detection.services import batches, buckets_aggregate, detect_tick, tick
from detection.services.batches import BaselineCache, tick_run
from detection.services.config import detector_config
from detection.services.overlap import Alongside, overlap_possible
from detection.services.timeutil import to_epoch_minute
from tests.detection.conftest import T0
from tests.detection.test_states_codec import warmed
from tests.detection.test_tick_batches import assert_same

M = dt.timedelta(minutes=1)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads overlap on PostgreSQL only"
)


def test_a_read_alongside_runs_on_its_own_thread_and_hands_back_its_result_or_error():
    caller = threading.current_thread()
    with Alongside(True, lambda x: (threading.current_thread(), x * 2), 21) as read:
        ran_on, value = read.result()
    assert (ran_on is not caller, value) == (True, 42)

    def fails():
        raise ValueError("no such baseline")

    with pytest.raises(ValueError, match="no such baseline"), Alongside(True, fails) as read:
        read.result()


def test_leaving_the_block_waits_for_the_read():
    done = []

    def slow():
        time.sleep(0.2)
        done.append(True)

    with pytest.raises(RuntimeError), Alongside(True, slow):
        raise RuntimeError("the caller failed first")
    assert done == [True]  # nothing outlives the block (or the transaction around it)


def test_a_read_not_alongside_runs_on_the_caller_when_asked_for():
    calls = []
    with Alongside(False, lambda: calls.append(threading.current_thread()) or "read") as read:
        assert calls == []
        assert read.result() == "read"
    assert calls == [threading.current_thread()]


@pytest.mark.django_db
def test_no_overlap_inside_someone_elses_transaction():
    # A second connection would not see what the enclosing transaction wrote.
    with transaction.atomic():
        assert not overlap_possible()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_baselines_read_alongside_are_the_baselines_read_here(history):
    keys = [(history.pk, ""), (history.pk, "DE")]
    config = detector_config()
    assert overlap_possible()
    with Alongside(True, BaselineCache().parts, keys, T0, config) as read:
        beside = read.result()
    here = BaselineCache().parts(keys, T0, config)
    state = warmed(len(keys), seed=3)
    observed = np.random.default_rng(3).poisson(2.0, (len(keys), 60)).astype(float)
    at = to_epoch_minute(T0)
    assert_same(
        tick_run(beside, state, observed, at, config), tick_run(here, state, observed, at, config)
    )


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_detectors_first_minute_reads_its_baselines_beside_the_rest(
    history, send_reports, monkeypatch
):
    """With nothing kept (a new worker), the tick's baselines come from a second connection
    while it reads states and buckets; the verdicts are the usual ones and the connection
    goes with its thread."""
    read_on = []
    real = batches.baselines_batch
    monkeypatch.setattr(
        batches,
        "baselines_batch",
        lambda ids, c: read_on.append(threading.current_thread()) or real(ids, c),
    )
    before = _backends()
    for k in range(20):
        if k in (0, 12):  # a new worker's first minute, once calm and once in the outage
            batches.baseline_cache().clear()
            tick.tick_forget()
        minute = T0 + k * M
        send_reports(history, minute, 2, country="DE")
        if k >= 10:
            send_reports(history, minute, 25, country="DE", problem="app")
        now = minute + M + dt.timedelta(seconds=2)
        buckets_aggregate(now=now)
        assert len(detect_tick(now=now)) == 1
    assert len(read_on) == 2 and threading.current_thread() not in read_on
    outage = Outage.objects.get(service=history)
    assert outage.is_active and outage.started_at == T0 + 10 * M
    assert SeriesState.objects.filter(service=history).count() == 2
    deadline = time.monotonic() + 5
    while _backends() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _backends() == before
