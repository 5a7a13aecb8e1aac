"""Celery beat's scheduler (app.conf.beat_scheduler): one beat sends, and says so.

- It sends the periodic jobs only while it holds the leader's lease (outagewatch.beat_lease);
  a second beat stands by, says so once in its log, and takes over when the lease lapses.
- While it leads it records a heartbeat, which /api/v1/health/ reads (its `beat` check).
- A job it cannot send because the broker does not answer is one WARNING line: Celery logged
  the stack and the traceback, about 200 lines a job, 800 a minute while Redis was down.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry, SchedulingError
from celery.utils.time import maybe_make_aware
from kombu.exceptions import OperationalError
from redis import RedisError

from outagewatch.beat_lease import (
    RENEW_SECONDS,
    STANDBY_POLL_SECONDS,
    Lease,
    beat_name,
    heartbeat_read,
)

logger = logging.getLogger(__name__)


def unreachable(exc: BaseException, connection_errors: tuple[type[BaseException], ...]) -> bool:
    """Whether a failed send failed on the broker's connection (noise while Redis is down),
    not on our code (which keeps its traceback)."""
    return isinstance(exc, (OperationalError, RedisError, *connection_errors))


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Scheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lease = Lease(beat_name())
        self.leading = False
        self._next_check = 0.0  # time.monotonic() of the next take or renewal
        self._next_heartbeat = 0.0
        self._redis_failing = False
        self._standby_said = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        started = self.app.now()
        if time.monotonic() >= self._next_check:
            self._check_lease()
        if not self.leading:
            return max(0.0, self._next_check - time.monotonic())
        delay = super().tick(*args, **kwargs)
        if delay > 0 and time.monotonic() >= self._next_heartbeat:
            # Only once every job due by `started` is sent (Celery sends one per tick, and
            # sleeps when none is left): a successor resumes from this moment.
            with contextlib.suppress(RedisError):
                self.lease.beat(at=started)
                self._next_heartbeat = time.monotonic() + RENEW_SECONDS
        return min(delay, max(0.0, self._next_check - time.monotonic()))

    def _check_lease(self) -> None:
        try:
            holds = self.lease.take()
            if holds:
                if not self.leading:
                    self._lead()
            else:
                holder = self.lease.holder()
                self.lease.stand_by()
        except RedisError as exc:
            # Nothing can be sent either (the broker is the same Redis): keep the role we
            # had, and say so once, not every tick.
            if not self._redis_failing:
                logger.warning(
                    "Beat cannot reach Redis to renew its lease (%s); %s meanwhile.",
                    one_line(exc),
                    "still sending" if self.leading else "still standing by",
                )
            self._redis_failing = True
            self._next_check = time.monotonic() + STANDBY_POLL_SECONDS
            return
        if self._redis_failing:
            logger.info("Beat reaches Redis again.")
            self._redis_failing = False
        if holds:
            self._next_check = time.monotonic() + RENEW_SECONDS
            return
        if self.leading:
            logger.warning("Beat lost its lease to %s: standing by.", holder)
            self.leading = False
            self._standby_said = False
        if not self._standby_said:
            logger.warning(
                "Beat on standby: %s sends the periodic jobs. This one takes over within a "
                "minute of that one stopping.",
                holder,
            )
            self._standby_said = True
        self._next_check = time.monotonic() + STANDBY_POLL_SECONDS

    def _lead(self) -> None:
        """Become the sender. Jobs that fell due while another beat led were sent by it up
        to its last heartbeat: a standby's own schedule would send them again (all of them
        once over, the nightly refit too, if it had stood by since before 03:17)."""
        previous, _ = heartbeat_read()
        if previous is not None and previous.by != self.lease.name:
            covered = maybe_make_aware(previous.at)
            for entry in self.schedule.values():
                if maybe_make_aware(entry.last_run_at) < covered:
                    entry.last_run_at = covered
            self._heap = None  # recomputed from the entries on the next tick
            logger.info(
                "Beat leads: sends the periodic jobs from now (%s last sent them at %s).",
                previous.by,
                covered.isoformat(timespec="seconds"),
            )
        else:
            logger.info("Beat leads: sends the periodic jobs (%s).", self.lease.name)
        self.leading = True
        self._standby_said = False
        self._next_heartbeat = 0.0

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        # Celery's own, but a send the broker did not take is one line: Celery logged the
        # stack and the traceback of each (about 200 lines), four jobs a minute.
        logger.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:  # as Celery's: one job's failure must not stop beat
            cause = exc.__context__ if isinstance(exc, SchedulingError) else exc
            if cause is not None and unreachable(cause, self.connection.connection_errors):
                logger.warning(
                    "Could not send %s (%s): %s", entry.name, entry.task, one_line(cause)
                )
            else:  # our own bug, or one we do not know: its traceback says where
                logger.error("Could not send %s (%s)", entry.name, entry.task, exc_info=True)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.leading:
                # A standby takes over at its next poll instead of waiting for the lease.
                with contextlib.suppress(RedisError):
                    self.lease.release()
