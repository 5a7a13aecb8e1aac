"""Bucketing beside report writes that commit out of id order (PostgreSQL, real threads)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections, transaction

from detection.models import Bucket
from detection.services import buckets_aggregate
from reports.models import Report
from reports.services import report_create
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
