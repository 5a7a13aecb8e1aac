"""Which other transactions are open on PostgreSQL, on the database's own clock.

Two readers resume from a watermark that a transaction still open may fall behind: the outage
list's pollers (selectors.outages_updated_until: a change stamped before the poll commits
after it) and bucketing's report ids (services.buckets: an id handed out before the newest one
seen commits after it). Both ask how old the oldest open transaction is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection

# The oldest other client transaction on this database (writers only: those holding an xid),
# the database's clock now, and whether a session this role may not see (another role's,
# without pg_read_all_stats) holds `table` in a transaction.
_SQL = """
SELECT
    clock_timestamp(),
    min(a.xact_start) FILTER (
        WHERE a.datname = current_database() AND a.backend_type = 'client backend'
        AND (NOT %s OR a.backend_xid IS NOT NULL)
    ),
    coalesce(bool_or(
        (a.state = 'disabled' AND a.datname = current_database())
        OR (a.state IS NULL AND a.pid IN (
            SELECT l.pid FROM pg_locks l
            WHERE l.relation = %s::regclass
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ))
    ), false)
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid()
"""


@dataclass(frozen=True)
class OpenTransactions:
    now: dt.datetime  # the database's clock when it was asked
    oldest_start: dt.datetime | None  # when the oldest other open transaction began
    unseen: bool  # a session of unknown age may hold the table in a transaction


def open_transactions(table: str, *, writers_only: bool = False) -> OpenTransactions:
    """PostgreSQL only. writers_only: count only transactions that wrote already (a report's
    id is handed out by the statement that writes it, so a transaction that holds one wrote);
    otherwise every open transaction counts, as a stamp can be taken before the first write."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # what it read of pg_stat_activity is kept till its end
            cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_SQL, [writers_only, table])
        now, oldest, unseen = cursor.fetchone()
    return OpenTransactions(now=now, oldest_start=oldest, unseen=bool(unseen))
