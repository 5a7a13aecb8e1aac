"""A catalog edit makes the cached detection reads stale (detection.signals) once per
transaction, and a bump that finds Redis away is one line, not a traceback per row: a catalog
load or an admin action saves hundreds of rows."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from detection.cache import data_version_bump

pytestmark = pytest.mark.django_db


def _pending() -> int:
    """Bumps waiting for the commit of the test's transaction."""
    waiting = transaction.get_connection().run_on_commit
    return sum(callback is data_version_bump for _, callback, _ in waiting)


@pytest.fixture
def none_pending(make_service):
    # The fixtures' own rows were edits of the catalog too.
    waiting = transaction.get_connection().run_on_commit
    waiting[:] = [entry for entry in waiting if entry[1] is not data_version_bump]


def test_many_catalog_edits_in_one_transaction_bump_the_reads_once(make_service, none_pending):
    for n in range(20):
        make_service(f"service-{n}")
    assert _pending() == 1


def test_an_edit_after_a_rolled_back_savepoint_still_bumps(make_service, none_pending):
    try:
        with transaction.atomic():
            make_service("gone")
            assert _pending() == 1
            raise RuntimeError("rolled back, with the bump it registered")
    except RuntimeError:
        pass
    assert _pending() == 0
    make_service("kept")
    assert _pending() == 1


def test_a_bump_that_finds_redis_away_is_one_line_without_a_traceback(redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="detection.cache"):
        for _ in range(50):
            data_version_bump()
    lines = [r for r in caplog.records if r.name == "detection.cache"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "could not invalidate reads" in lines[0].getMessage()
