"""The outbox both alert deliveries and owner emails go through: claim a row with a
conditional UPDATE, send, record the outcome; retries are times in the row.

A sender first claims its row (pending and due -> sending, or a 'sending' claim so old that
its worker must have died), sends, then marks it sent. A task delivered twice, or queued
again by the sweeper, finds nothing to claim.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import Task
from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, QuerySet, When

from alerts import selectors
from alerts.channels import TransportError
from alerts.models import AlertDelivery

logger = logging.getLogger(__name__)

Status = AlertDelivery.Status


def error_text(exc: BaseException) -> str:
    """A failure as the owner reads it (delivery rows, the "channel disabled" email): a
    transport's message is already in plain words; anything else names its kind."""
    if isinstance(exc, TransportError):
        return str(exc)[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


class Outcome(enum.StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    HELD = "held"  # back to pending until next_attempt_at
    RETRY = "retry"  # transient failure, back to pending, retry after ``delay``
    FAILED = "failed"
    NOT_CLAIMED = "not_claimed"  # sent, skipped, not due yet, or another worker has it


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    delay: int | None = None
    reason: str = ""
    error: BaseException | None = None
    gave_up: bool = False  # FAILED after the last transient attempt


def queue_after_commit(task: Task, **kwargs: object) -> None:
    """Queue `task` once the transaction commits. The row is the outbox: if the broker is
    down the task is lost but the sweeper sends the row, so a failure is logged and the
    request that wrote it still succeeds (and the caller's later commit hooks still run)."""

    def send() -> None:
        task.delay(**kwargs)

    # Named, not a functools.partial: Django logs a robust hook's failure by its __qualname__,
    # which a partial lacks (the AttributeError was a 500 after the commit).
    send.__qualname__ = f"{task.name}.delay"
    transaction.on_commit(send, robust=True)


def claim(model: type[models.Model], *, pk: int, now: datetime) -> QuerySet | None:
    """Take one outbox row for this worker; the returned queryset updates only our claim."""
    stale = now - timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS)
    taken_over = Q(status=Status.SENDING, claimed_at__lt=stale)
    changes: dict[str, object] = {"status": Status.SENDING, "claimed_at": now}
    if model is AlertDelivery:
        # A claim taken over: its worker died while sending, perhaps after the receiver had it.
        changes["maybe_sent"] = Case(When(taken_over, then=True), default=F("maybe_sent"))
    claimed = (
        model._default_manager.filter(pk=pk)  # the outbox models' `objects`
        .filter(Q(status=Status.PENDING, next_attempt_at__lte=now) | taken_over)
        .update(**changes)
    )
    if not claimed:
        return None
    return model._default_manager.filter(pk=pk, status=Status.SENDING, claimed_at=now)


def retry_at(now: datetime, delay: int) -> datetime:
    """When a retry `delay` seconds after an attempt at `now` is due: on the second."""
    return (now + timedelta(seconds=delay)).replace(microsecond=0)


def record_failure(
    *, mine: QuerySet, attempts: int, exc: TransportError, now: datetime, what: str
) -> SendResult:
    """One failed attempt (``attempts`` before it): back off and retry, or give up."""
    error = error_text(exc)
    attempts += 1
    if exc.permanent:
        mine.update(status=Status.FAILED, attempts=attempts, last_error=error)
        return SendResult(Outcome.FAILED, reason=error, error=exc)
    if attempts >= settings.ALERT_MAX_ATTEMPTS:
        reason = f"Gave up after {attempts} attempts. {error}"
        mine.update(status=Status.FAILED, attempts=attempts, last_error=reason[:1000])
        logger.error("%s failed: %s", what, reason)
        return SendResult(Outcome.FAILED, reason=reason, error=exc, gave_up=True)
    delay = selectors.retry_delay_seconds(attempts=attempts)
    # The row, not a broker countdown, remembers the retry: the sweeper sends it when due.
    # On a whole second: an attempt made by a sweep (a few ms past the minute) came due a few
    # ms after the sweep its delay points at, and every retry waited a minute more (chaos
    # tester, forty-third session).
    mine.update(
        status=Status.PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=retry_at(now, delay),
    )
    logger.warning("%s attempt %s failed (%s); retry in %ss", what, attempts, error, delay)
    return SendResult(Outcome.RETRY, delay=delay, reason=error, error=exc)
