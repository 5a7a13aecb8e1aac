"""Group commit: what concurrent requests of one process write goes out in one batch.

Under load each report would otherwise pay for a round trip and a commit of its own (a WAL
flush on PostgreSQL, the write lock on SQLite), and each rate-limit check for a round trip to
Redis. Here the first request that finds nobody writing becomes the leader: it writes every
item queued meanwhile by the process's other threads in one batch (one transaction, one
pipeline), then wakes them. A request that arrives while a batch is being written waits; when
the batch ends, the oldest waiter leads the next one, with everything queued by then. Nothing
waits for a timer: an idle server writes each item alone and at once, and the busier it is, the
bigger the batches grow.

A submitter returns only after the batch holding its item was written (for a database: its
transaction committed), so an answer still means a stored row. When a batch fails as a whole
(one report's service deleted meanwhile, a deadlock with another process's batch), each of its
items is retried alone, so one bad item fails only itself; a batch can also answer one item
with an exception of its own (a result that is an exception is raised to its submitter).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None
        # Set when the item was written, or when its submitter is handed the lead.
        self.wake = threading.Event()


class GroupCommit(Generic[Item, Result]):
    """Leader/follower batching of blocking writes across the threads of one process.

    write_batch(items) writes all of them in one batch and returns their results in order;
    write_one(item) writes one alone (the fallback after a failed batch, when
    retry_alone(error) says the error may be one item's). Both run on the leader's thread, so
    with its database connection.
    """

    def __init__(
        self,
        write_batch: Callable[[Sequence[Item]], Sequence[Result]],
        write_one: Callable[[Item], Result],
        *,
        max_batch: int,
        retry_alone: Callable[[Exception], bool] = lambda exc: True,
    ) -> None:
        self._write_batch = write_batch
        self._retry_alone = retry_alone
        self._write_one = write_one
        self._max_batch = max_batch
        self._queue_lock = threading.Lock()
        self._pending: list[_Slot[Item, Result]] = []
        self._writing = False  # a leader is at work (guarded by _queue_lock)

    def submit(self, item: Item) -> Result:
        slot: _Slot[Item, Result] = _Slot(item)
        with self._queue_lock:
            self._pending.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            # Each waiter has an event of its own: when a batch ends, all its submitters wake
            # at once instead of taking turns on one lock.
            slot.wake.wait()
        if not slot.done:
            self._lead(slot)
        if slot.error is not None:
            raise _own(slot.error)
        return slot.result  # type: ignore[return-value]

    def _lead(self, slot: _Slot[Item, Result]) -> None:
        """Write batches until this slot's is written, then hand the lead to the next waiter."""
        try:
            while not slot.done:
                with self._queue_lock:
                    batch = self._pending[: self._max_batch]
                    del self._pending[: self._max_batch]
                self._run(batch)
        finally:
            with self._queue_lock:
                if self._pending:
                    self._pending[0].wake.set()  # the oldest waiter leads the next batch
                else:
                    self._writing = False

    def _run(self, batch: list[_Slot[Item, Result]]) -> None:
        try:
            if len(batch) == 1:
                self._write_alone(batch[0])
                return
            try:
                results = self._write_batch([slot.item for slot in batch])
            except Exception as exc:
                if not self._retry_alone(exc):
                    # Not one item's fault (a database that cannot be reached): retrying each
                    # would make the last one wait out every attempt before it.
                    for slot in batch:
                        slot.error = exc
                    return
                for slot in batch:  # each write retried alone, failing alone
                    self._write_alone(slot)
            else:
                for slot, result in zip(batch, results, strict=True):
                    if isinstance(result, Exception):
                        slot.error = result
                    else:
                        slot.result = result
        except BaseException as exc:
            # Interrupted (SystemExit, KeyboardInterrupt): no follower may wait forever. An
            # error for a write that did commit is allowed; a success for one that did not is not.
            for slot in batch:
                if slot.error is None:
                    slot.error = exc
            raise
        finally:
            for slot in batch:
                slot.done = True
                slot.wake.set()

    def _write_alone(self, slot: _Slot[Item, Result]) -> None:
        try:
            slot.result = self._write_one(slot.item)
        except Exception as exc:  # handed to the thread that submitted it
            slot.error = exc


def _own(error: BaseException) -> BaseException:
    """The submitter's own copy of its batch's error, with the batch's error as its cause.

    One object raised in several threads collects every thread's frames in its traceback:
    each request's log ran through the other requests' views, and their frames (requests,
    bodies) stayed alive with it (infra review F6). An error that cannot be copied is raised
    as it is.
    """
    try:
        own = copy.copy(error)
    except Exception:
        return error
    if type(own) is not type(error):
        return error
    own.__cause__ = error
    own.__suppress_context__ = True
    return own
