"""One read on a second database connection while this one reads something else.

A detector's first minute reads every stored baseline (at 100k series about 3 s, half of it
PostgreSQL sending half a gigabyte of profiles) and then every state and the window of
buckets (about 2 s more): independent reads, and one connection does one at a time. On a
second connection the baselines cross while this one reads the rest (bench/scale/README.md,
"The first minute's reads side by side").

A second connection sees only what is committed. At READ COMMITTED (Django's default) that is
what this connection sees too, as long as this transaction has not written what the read
reads: the caller decides it where it knows, before it opens its transaction, with
`overlap_possible()`: on PostgreSQL and in no transaction of anyone else's (a test's, an
admin command's). Elsewhere, and on SQLite (the zero-setup default, where the size this is
for is not run), the read runs on this connection when its result is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, ParamSpec, TypeVar

from django.db import connection, connections

P = ParamSpec("P")
T = TypeVar("T")


def overlap_possible() -> bool:
    """Whether a read on a second connection, now or in a transaction opened next by the
    caller, sees what this connection would."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class Alongside(Generic[T]):
    """`with Alongside(enabled, fn, *args) as read:` ... `read.result()`: fn(*args) on a
    thread with its own connection from the start of the block, or on this thread when asked
    for if not `enabled`. Leaving the block waits for the thread (so nothing outlives the
    transaction that asked); an error of fn is raised by result()."""

    def __init__(self, enabled: bool, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs):
        self._call = lambda: fn(*args, **kwargs)
        self._enabled = enabled
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[T] | None = None

    def __enter__(self) -> Alongside[T]:
        if self._enabled:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlap")
            self._future = self._pool.submit(self._on_own_connection)
        return self

    def result(self) -> T:
        if self._future is None:
            return self._call()
        return self._future.result()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _on_own_connection(self) -> T:
        try:
            return self._call()
        finally:
            # The thread's connections are its own (Django keeps them per thread) and go with it.
            connections.close_all()
