"""Django's PostgreSQL backend with a pool that recovers at once from a database restart.

The web server's pool (settings: DB_POOL) checks each connection as it hands it out. After a
restart or failover every idle connection is dead; psycopg_pool's own check finds them one at
a time and waits between finds (1 s, then 2 s, ...), so with two dead connections a request
waited past DB_POOL_TIMEOUT (3 s) and was answered 503 while the database was back. Here the
first dead one found empties the pool of the others (they died together) and has fresh ones
opened, which the request that found it gets on its next try.

Nor does the pool wait out a long outage's backoff once the database is back: its attempts to
open connections double their gap after each failure (1, 2, 4, ... s), so after 75 s down the
next came about 40 s after the database returned, and every report meanwhile was a 503 while
the health check said 200 (durability tester F1). Here they are at most
RECONNECT_MAX_DELAY_SECONDS apart.

Django passes the pool's check itself (psycopg_pool's, with CONN_HEALTH_CHECKS), so the pool
is made here, as Django makes it, with this check instead.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

import psycopg
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

logger = logging.getLogger(__name__)

# A database that is down fails every check: opening new connections for each would only add
# to the pool's own reconnection attempts.
DRAIN_GAP_SECONDS = 5.0
# The longest gap between two attempts to open a connection while the database is down: how
# long after it is back at most the pool may still have none. One connection attempt per
# process every two seconds costs a database that is down nothing.
RECONNECT_MAX_DELAY_SECONDS = 2.0


class _CappedAttempt(AttemptWithBackoff):
    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_DELAY_SECONDS)


class Pool(ConnectionPool):
    """psycopg_pool's pool, its reconnection attempts at most RECONNECT_MAX_DELAY_SECONDS
    apart (psycopg_pool 3.3: `_add_connection` makes the attempt when none is given)."""

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        attempt = attempt or _CappedAttempt(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing=growing)


class DatabaseWrapper(base.DatabaseWrapper):
    _drain_lock = threading.Lock()
    _drained_at = float("-inf")

    if TYPE_CHECKING:  # Django's, missing from its stubs
        _connection_pools: dict[str, ConnectionPool]

        def _configure_connection(self, connection: psycopg.Connection) -> None: ...

    @property
    def pool(self) -> ConnectionPool | None:
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django's: it sets autocommit itself later
            pool = Pool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=self._check_pooled,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)  # threads may race: one wins
        return self._connection_pools[self.alias]

    def _check_pooled(self, conn: psycopg.Connection) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            self._drain()
            raise

    def _drain(self) -> None:
        now = time.monotonic()
        with self._drain_lock:
            if now - DatabaseWrapper._drained_at < DRAIN_GAP_SECONDS:
                return
            DatabaseWrapper._drained_at = now
        logger.warning("A pooled database connection was dead: opening fresh ones.")
        self._connection_pools[self.alias].drain()
