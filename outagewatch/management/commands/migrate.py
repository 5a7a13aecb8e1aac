"""Django's `migrate`, that on PostgreSQL gives up waiting for a table's lock and tries again.

`migrate` runs while the previous release serves (docs/deployment.md, "Upgrading"). A
migration that needs a table's exclusive lock (ALTER TABLE, however instant once it has it)
queues behind any long read of the table, the nightly pg_dump or a long report query, and
every read and write of the table queues behind it: reporters waited as long as the read
ran (22 s behind a 35 s read; a pg_dump's minutes are 504s). So each migration that runs in
one transaction waits at most MIGRATE_LOCK_TIMEOUT_SECONDS for a lock (PostgreSQL's
lock_timeout); when it gives up its transaction is rolled back, the queue behind it drains,
and after MIGRATE_LOCK_PAUSE_SECONDS it is tried again, MIGRATE_LOCK_TRIES tries in all. The
migrations before it stay applied (each commits on its own), so a try resumes where the last
one stopped.

A migration that is not atomic is not retried (what it did before the wait is not rolled
back) and waits as long as it takes: there a concurrent index build (reports 0007) waits for
the transactions in flight without holding anyone back, and one cut short by a timeout
would leave an invalid index that makes the next try fail with "already exists".
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations import Migration

# PostgreSQL's lock_not_available: a lock wait cut short by lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"
_STARTS = {"apply_start", "unapply_start"}
_ENDS = {"apply_success", "unapply_success"}
_FIND_IT = (
    "SELECT pid, now() - xact_start AS open_for, state, query FROM pg_stat_activity "
    "WHERE datname = current_database() AND xact_start IS NOT NULL ORDER BY xact_start;"
)


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> Any:
        self._connection: BaseDatabaseWrapper = connections[options["database"]]
        self._timeout: float = settings.MIGRATE_LOCK_TIMEOUT_SECONDS
        tries: int = settings.MIGRATE_LOCK_TRIES
        for attempt in range(1, tries + 1):
            self._running: Migration | None = None
            try:
                return super().handle(*args, **options)
            except OperationalError as exc:
                migration = self._running
                if migration is None or not self._timed(migration) or not _lock_wait(exc):
                    raise
                self._lock_timeout_reset()
                if self.verbosity >= 1:  # ends the "Applying ..." line
                    self.stdout.write(self.style.WARNING(" NO LOCK, ROLLED BACK"))
                name, oldest = f"{migration.app_label}.{migration.name}", self._oldest_transaction()
                if attempt == tries:
                    raise CommandError(
                        f"{name} was not granted the locks it needs in {tries} tries of "
                        f"{self._timeout:g} s: a long transaction holds a table it changes (a "
                        f"pg_dump, a long query, a session left idle in a transaction{oldest}). "
                        "The migration was rolled back; the ones before it stay applied. Find "
                        f"the transaction with {_FIND_IT} let it end, or end it (SELECT "
                        "pg_cancel_backend(pid); for a running query, pg_terminate_backend(pid); "
                        "for an idle session), and run migrate again; MIGRATE_LOCK_TRIES and "
                        "MIGRATE_LOCK_PAUSE_SECONDS make it try longer."
                    ) from exc
                pause: float = settings.MIGRATE_LOCK_PAUSE_SECONDS
                self.stderr.write(
                    f"{name} waited {self._timeout:g} s for a lock that another transaction "
                    f"holds on a table it changes (a long query, a pg_dump{oldest}); rolled "
                    f"back, so the reports queued behind it go on. Trying again in {pause:g} s "
                    f"(try {attempt + 1} of {tries})."
                )
                time.sleep(pause)
        raise AssertionError("unreachable: the last try returns or raises")

    def migration_progress_callback(
        self, action: str, migration: Migration | None = None, fake: bool = False
    ) -> None:
        # Called just before each migration opens its transaction and just after it commits.
        if action in _STARTS and migration is not None:
            self._running = migration
            self._lock_timeout_set(migration)
        super().migration_progress_callback(action, migration, fake)
        if action in _ENDS:
            self._running = None
            self._lock_timeout_reset()

    def _timed(self, migration: Migration) -> bool:
        return self._connection.vendor == "postgresql" and self._timeout > 0 and migration.atomic

    def _lock_timeout_set(self, migration: Migration) -> None:
        if self._connection.vendor != "postgresql" or self._timeout <= 0:
            return
        # Set for the session, outside the migration's transaction, so it holds for all of it;
        # 0 for a migration that is not atomic: it waits as long as it takes (module docstring).
        value = f"{round(self._timeout * 1000)}ms" if migration.atomic else "0"
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [value])

    def _lock_timeout_reset(self) -> None:
        # Back to the server's setting for what follows (post_migrate's writes, the next command).
        if self._connection.vendor == "postgresql" and self._timeout > 0:
            with self._connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")

    def _oldest_transaction(self) -> str:
        """The oldest transaction open longer than the wait: most likely the one in the way
        (those of other roles are visible only to a superuser or pg_read_all_stats)."""
        with self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, extract(epoch FROM now() - xact_start), state, left(query, 60) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() "
                "AND xact_start < now() - make_interval(secs => %s) "
                "ORDER BY xact_start LIMIT 1",
                [self._timeout],
            )
            row = cursor.fetchone()
        if row is None:
            return ""
        pid, seconds, state, query = row
        return f"; the oldest open transaction: pid {pid}, open {seconds:.0f} s, {state}: {query!r}"


def _lock_wait(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == _LOCK_NOT_AVAILABLE
