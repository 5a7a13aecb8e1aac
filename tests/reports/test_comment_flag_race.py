"""Flags on one comment at once (real threads, PostgreSQL): guarded by the report's row lock
(one block counts once), the unique (report, network) row, and an atomic increment."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from reports import services
from reports.models import COMMENT_HIDE_AFTER_FLAGS, CommentFlag, Report
from tests.conftest import crowd_address

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _comment(service) -> Report:
    return services.report_create(
        service=service, problem=service.problem_types.get(slug="login"), country="DE",
        comment="rude words", source=Report.Source.WEB, address="11.0.0.1", now=T0,
    ).report  # fmt: skip


def _flags_at_once(service, report: Report, addresses: list[str]) -> list:
    barrier = threading.Barrier(len(addresses))
    results: list = [None] * len(addresses)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = services.comment_flag(
                service=service, report_id=report.pk, address=addresses[i]
            ).flagged
        except BaseException as exc:  # handed to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(addresses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.refresh_from_db()
    return results


def test_one_network_flagging_at_once_flags_once(service):
    report = _comment(service)
    results = _flags_at_once(service, report, [f"12.1.1.{i}" for i in range(1, 5)])
    assert sorted(results) == [False, False, False, True]
    assert (report.comment_flags, CommentFlag.objects.count()) == (1, 1)


def test_networks_of_one_block_flagging_at_once_count_once(service):
    report = _comment(service)
    results = _flags_at_once(service, report, [f"12.1.{i}.1" for i in range(1, 7)])
    assert results == [True] * 6
    assert (report.comment_flags, CommentFlag.objects.count()) == (1, 6)


def test_enough_blocks_flagging_at_once_hide_it(service):
    report = _comment(service)
    addresses = [crowd_address(k) for k in range(COMMENT_HIDE_AFTER_FLAGS)]
    assert _flags_at_once(service, report, addresses) == [True] * COMMENT_HIDE_AFTER_FLAGS
    assert report.comment_flags == COMMENT_HIDE_AFTER_FLAGS


def test_a_flag_taken_while_a_moderator_shows_the_comment_again_is_not_half_kept(service):
    """comment_show deleted the flags and then zeroed the count: a flag being written
    meanwhile (not committed: not deleted) was kept, its count zeroed, and its block could
    never count again on that comment (each later flag from it said "already")."""
    report = _comment(service)
    written, shown = threading.Event(), threading.Event()
    real = CommentFlag.objects.get_or_create

    def get_or_create(*args, **kwargs):
        result = real(*args, **kwargs)
        written.set()
        shown.wait(2)  # the moderator's reset runs now, or waits for this flag's commit
        return result

    def flag() -> None:
        try:
            services.comment_flag(service=service, report_id=report.pk, address="12.1.1.1")
        finally:
            connections.close_all()

    def show() -> None:
        try:
            written.wait(5)
            services.comment_show(report_ids=[report.pk])
            shown.set()
        finally:
            connections.close_all()

    CommentFlag.objects.get_or_create = get_or_create
    try:
        threads = [threading.Thread(target=flag), threading.Thread(target=show)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        del CommentFlag.objects.get_or_create
    report.refresh_from_db()
    blocks = CommentFlag.objects.filter(report=report).values("block_key").distinct().count()
    assert report.comment_flags == blocks
