"""`migrate` runs while the site serves (docs/deployment.md): on PostgreSQL a migration gives
up waiting for a table's lock after MIGRATE_LOCK_TIMEOUT_SECONDS, so the reports queued behind
it go on, and is tried again (outagewatch/management/commands/migrate.py).

The PostgreSQL tests hold a long read of the reports table in a second connection, as the
nightly pg_dump does (a REPEATABLE READ snapshot and the table's ACCESS SHARE lock), while
`migrate` moves reports over 0016 (ALTER TABLE reports_report ADD COLUMN site_key: ACCESS
EXCLUSIVE).
"""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reports.models import Report
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's lock_timeout; SQLite has one writer"
)

BEFORE, AFTER = "0015_names_shown_everywhere", "0016_report_site_key"


class LongRead:
    """A transaction in its own connection that has read the reports table and stays open,
    as pg_dump's does, until released (at the latest after ``hold`` seconds, so that a
    `migrate` that waits for it forever, as Django's own does, ends the test)."""

    def __init__(self, hold: float = 15.0) -> None:
        self.reading = threading.Event()
        self.released = threading.Event()
        self._hold = hold
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> LongRead:
        self._thread.start()
        assert self.reading.wait(10), "the long read did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._thread.join(10)

    def release(self, after: float = 0.0) -> None:
        threading.Timer(after, self.released.set).start() if after else self.released.set()

    def _read(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT count(*) FROM reports_report")
                self.reading.set()
                self.released.wait(self._hold)
        finally:
            connection.close()


def _forward() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _columns() -> list[str]:
    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description(cursor, "reports_report")
    return [column.name for column in table]


def _applied(name: str) -> bool:
    return ("reports", name) in MigrationExecutor(connection).loader.applied_migrations


def _report(service) -> Report:
    return Report.objects.create(
        service=service,
        problem=service.problem_types.get(slug="login"),
        country="DE",
        source=Report.Source.API,
        created_at=timezone.now(),
    )


@pytest.fixture
def before_0016(service):
    """reports migrated back to just before 0016, with one report; forward again after."""
    _report(service)
    call_command("migrate", "reports", BEFORE, verbosity=0)
    assert "site_key" not in _columns()
    yield
    _forward()


@pytest.fixture
def lock_settings(settings):
    settings.MIGRATE_LOCK_TIMEOUT_SECONDS = 0.5
    settings.MIGRATE_LOCK_PAUSE_SECONDS = 0.3
    return settings


def _insert_when_migrate_waits(columns: list[str], took: list[float]) -> None:
    """In a third connection: once `migrate`'s ALTER TABLE waits for its lock, add a report
    (as the previous release's writes do, naming only the columns it knows) and time it."""
    try:
        with connection.cursor() as cursor:

            def altering_waits() -> bool:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE 'ALTER TABLE%%reports_report%%'"
                )
                return cursor.fetchone()[0] > 0

            wait_until(altering_waits, timeout=10, interval=0.02, what="migrate to wait")
            names = ", ".join(f'"{c}"' for c in columns if c != "id")
            start = time.monotonic()
            cursor.execute(
                f"INSERT INTO reports_report ({names}) SELECT {names} FROM reports_report LIMIT 1"
            )
            took.append(time.monotonic() - start)
    finally:
        connection.close()


@postgresql
def test_a_report_waits_at_most_the_lock_timeout_and_migrate_goes_on_once_the_read_ends(
    before_0016, lock_settings
):
    lock_settings.MIGRATE_LOCK_TRIES = 30
    took: list[float] = []
    writer = threading.Thread(target=_insert_when_migrate_waits, args=(_columns(), took))
    err = StringIO()
    with LongRead() as read:
        writer.start()
        read.release(after=3.0)
        start = time.monotonic()
        call_command("migrate", "reports", AFTER, verbosity=0, stderr=err)
        elapsed = time.monotonic() - start
    writer.join(15)
    # (a) the report went in when migrate gave up its wait, not when the read ended (3 s).
    assert took and took[0] < 1.5, took
    # (b) migrate tried again until the read ended, and then applied 0016.
    assert elapsed >= 2.5
    assert "site_key" in _columns() and _applied(AFTER)
    assert "reports.0016_report_site_key waited 0.5 s for a lock" in err.getvalue()
    assert "try 2 of 30" in err.getvalue()
    assert Report.objects.count() == 2


@postgresql
def test_migrate_stops_after_its_tries_with_nothing_changed_while_the_read_goes_on(
    before_0016, lock_settings
):
    lock_settings.MIGRATE_LOCK_TRIES = 3
    err = StringIO()
    with LongRead(), pytest.raises(CommandError) as raised:
        call_command("migrate", "reports", AFTER, verbosity=0, stderr=err)
    message = str(raised.value)
    assert "reports.0016_report_site_key was not granted the locks it needs in 3 tries" in message
    assert "pg_stat_activity" in message and "pg_cancel_backend" in message
    # It names the oldest open transaction: here the long read.
    assert "idle in transaction: 'SELECT count(*) FROM reports_report'" in message
    assert err.getvalue().count("waited 0.5 s for a lock") == 2  # before tries 2 and 3
    # The migration's transaction was rolled back: no column, not recorded as applied.
    assert "site_key" not in _columns() and not _applied(AFTER)
    # Nor is the session left with the timeout for what follows.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


@postgresql
def test_a_concurrent_index_build_waits_for_the_read_without_the_timeout(lock_settings):
    """reports 0007 builds its index CONCURRENTLY (not atomic): it waits for the transactions
    in flight, holding no report back; cut short by the timeout it would leave an invalid
    index behind, and every later try would fail with "already exists"."""
    lock_settings.MIGRATE_LOCK_TRIES = 1
    call_command("migrate", "reports", "0006_fewer_ingest_indexes", verbosity=0)
    try:
        err = StringIO()
        with LongRead() as read:
            read.release(after=2.0)
            start = time.monotonic()
            call_command("migrate", "reports", "0007_report_region_recent", verbosity=0, stderr=err)
            assert time.monotonic() - start >= 1.5  # it did wait for the read
        assert err.getvalue() == ""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indisvalid FROM pg_index "
                "WHERE indexrelid = 'report_region_recent'::regclass"
            )
            assert cursor.fetchone() == (True,)
    finally:
        _forward()


def test_migrate_goes_back_and_forth_with_the_lock_settings(lock_settings, service):
    """On any database (SQLite has no lock_timeout: the settings change nothing there)."""
    lock_settings.MIGRATE_LOCK_TRIES = 2
    call_command("migrate", "reports", BEFORE, verbosity=0)
    try:
        assert "site_key" not in _columns()
        out = StringIO()
        call_command("migrate", "reports", AFTER, stdout=out)
        assert "Applying reports.0016_report_site_key... OK" in out.getvalue()
        assert "site_key" in _columns()
    finally:
        _forward()
