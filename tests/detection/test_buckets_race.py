"""Bucketing beside report writes that commit out of id order (PostgreSQL, real threads)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction

from detection.models import Bucket, JobCursor
from detection.services import buckets as buckets_module
from detection.services import buckets_aggregate
from reports.models import Report
from reports.services import report_create
from tests.concurrency import Paused
from tests.detection.conftest import T0

M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_report_committed_after_a_higher_id_was_counted_still_reaches_its_bucket(
    service, problem_types, settings
):
    settings.BUCKET_LATE_MINUTES = 0  # allowed: "only reports found by their ids" count again
    inserted, go = threading.Event(), threading.Event()
    login = problem_types["login"]

    def slow_writer() -> None:
        # One web process's transaction: its row (and id) written, its commit later.
        try:
            with transaction.atomic():
                report_create(
                    service=service, problem=login, country="DE", source=Report.Source.API,
                    address="192.0.2.1", now=T0 + 59 * S,
                )  # fmt: skip
                inserted.set()
                go.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    # Another process's report, a higher id, commits first.
    report_create(
        service=service, problem=login, country="DE", source=Report.Source.API,
        address="198.51.100.1", now=T0 + 59 * S,
    )  # fmt: skip
    buckets_aggregate(now=T0 + M + S)  # counts minute T0: the one committed report
    go.set()
    thread.join()
    buckets_aggregate(now=T0 + 2 * M + S)
    assert Report.objects.filter(created_at__lt=T0 + M).count() == 2
    assert Bucket.objects.get(minute=T0, country="").reports == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent runs: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_clock_jump_reset_does_not_put_back_a_newer_watermark(service, send_reports, monkeypatch):
    """A run that found the watermark ahead of its clock put it back unconditionally: a run
    of a later minute that had reset it and counted on meanwhile was undone (the watermark
    went backwards, which buckets_settled promises it never does)."""
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + dt.timedelta(hours=1))  # one run an hour ahead
    first = Paused(lambda: buckets_aggregate(now=T0 + 5 * M))
    log_error = buckets_module.logger.error

    def error(*args, **kwargs):  # between the first run's read of the watermark and its reset
        log_error(*args, **kwargs)
        first.point()

    monkeypatch.setattr(buckets_module.logger, "error", error)
    first.start()
    buckets_aggregate(now=T0 + 6 * M)  # a minute later: resets it and counts up to 12:06
    first.release()
    assert JobCursor.objects.get(name="buckets").position == T0 + 6 * M
    assert Bucket.objects.get(minute=T0, country="").counted == 2
