"""Minutes whose reports did not all reach the counts, recorded in whichever store is up.

When one of our own stores is away, reports stop reaching the counted buckets. Judged
afterwards, those minutes would read as quiet: every open outage would resolve on our own
silence ("resolved" sent to its followers) and open again when the reports come back
("problems again"), both false. From the buckets alone our outage cannot be told from a site
that truly went quiet; these marks are the signal from our side:

- The database away: report submissions are answered 503 and nothing is stored. They are
  counted per minute in Redis, which is up when the database is not. Only a database that
  did not answer counts, never another error: an error that one request could provoke (a bug
  on some code path) must not let one client hold every outage open.
- Redis away: reports are stored but uncounted (their rate limit could not be checked,
  reports.services.report_create), and the Celery tick waits for its broker. The minute is
  marked in the database (UncheckedMinute), once per process and minute.

With both away nothing is recorded, and the minutes are judged as empty. Nothing about the
client is kept: the marks are minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from redis.exceptions import RedisError

from outagewatch.redis_rest import redis_failed, redis_resting
from reports.models import UncheckedMinute

logger = logging.getLogger(__name__)

# The tick reads a minute back at most its catch-up span (detection.services.tick's
# MAX_CATCH_UP_MINUTES, 30) after it closed; kept four times as long.
KEEP = dt.timedelta(hours=2)
# Where reports are submitted: the API and the service page's form.
SUBMISSION_VIEWS = frozenset({"report-create", "reports:service"})
UNCHECKED = "reports were stored uncounted, their rate limit unchecked with Redis away"

_last_logged = 0.0
# Minutes this process has marked unchecked already: one write a minute, not one a report.
_marked: set[dt.datetime] = set()


def _minute(at: dt.datetime) -> dt.datetime:
    return at.replace(second=0, microsecond=0)


def _key(minute: dt.datetime) -> str:
    return f"intake-failed:{int(minute.timestamp()) // 60}"


def _log_once_a_minute(message: str, *args: object) -> None:
    global _last_logged
    # One line a minute while a store is away, not one per request.
    if time.monotonic() - _last_logged > 60:
        _last_logged = time.monotonic()
        logger.warning(message, *args)


def is_submission(request: HttpRequest) -> bool:
    if request.method != "POST":
        return False
    match = request.resolver_match
    if match is None:  # the database failed before the URL was resolved
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
    return match.view_name in SUBMISSION_VIEWS


def submission_failed(*, now: dt.datetime | None = None) -> None:
    """Count one submission that found no database, in the minute it arrived."""
    key = _key(_minute(now or timezone.now()))
    if redis_resting():  # both stores away: nothing can record it (module docstring)
        _log_once_a_minute("Could not count a report submission that failed: Redis away")
        return
    try:
        cache.add(key, 0, timeout=int(KEEP.total_seconds()))
        cache.incr(key)
    except (RedisError, ValueError) as exc:  # ValueError: the key expired in between
        if isinstance(exc, RedisError):
            redis_failed(exc)
        _log_once_a_minute("Could not count a report submission that failed: %s", exc)


def unchecked_stored(*, now: dt.datetime) -> None:
    """Mark `now`'s minute as one whose reports were stored without their rate limit checked."""
    minute = _minute(now)
    if minute in _marked:
        return
    try:
        with transaction.atomic():  # inside a caller's transaction, failing leaves it usable
            UncheckedMinute.objects.bulk_create(
                [UncheckedMinute(minute=minute)], ignore_conflicts=True
            )
    except DatabaseError as exc:  # the report itself is stored: that is what matters
        _log_once_a_minute("Could not mark %s as unchecked: %s", minute, exc)
        return
    if len(_marked) > 2 * KEEP.total_seconds() / 60:
        _marked.clear()
    _marked.add(minute)


def submissions_failed(minute: dt.datetime) -> int:
    """How many submissions found no database in `minute` (0 if Redis cannot say)."""
    return _submissions_failed([minute])[minute]


def _submissions_failed(minutes: Sequence[dt.datetime]) -> dict[dt.datetime, int]:
    keys = {_key(minute): minute for minute in minutes}
    found = {}
    # Status reads ask this on every cold read: a hung Redis must cost them its socket timeout
    # once per rest, not once per read (outagewatch.redis_rest).
    if not redis_resting():
        try:
            found = cache.get_many(list(keys))
        except RedisError as exc:
            if redis_failed(exc):
                logger.warning(
                    "Could not read the failed report submissions of %s: %s",
                    ", ".join(f"{minute:%Y-%m-%d %H:%M}" for minute in minutes),
                    exc,
                )
    return {minute: int(found.get(key) or 0) for key, minute in keys.items()}


def marks_forget() -> None:
    """Forget which minutes this process marked (the next unchecked report writes again)."""
    _marked.clear()


def minute_unheard(minute: dt.datetime, stored: int | Callable[[], int]) -> str:
    """Why `minute`'s reports did not all reach the counts, in words; "" if they did.

    stored: the reports stored in it, each once, or a function that counts them, called only
    when submissions failed in `minute` (nearly every minute has none). Failed submissions
    make it unheard when at least as many failed as were stored (its buckets hold half of
    what was sent, or less); one report stored unchecked does, since then all of them were.
    """

    def count(failing: list[dt.datetime]) -> dict[dt.datetime, int]:
        return {minute: stored() if callable(stored) else stored}

    return minutes_unheard([minute], count).get(minute, "")


def minutes_unheard(
    minutes: Sequence[dt.datetime],
    stored: Callable[[list[dt.datetime]], Mapping[dt.datetime, int]],
) -> dict[dt.datetime, str]:
    """Why each of `minutes` whose reports did not all reach the counts did not, in words
    (minute_unheard's rules); the minutes that were heard are left out. One Redis read and one
    query for them all, whatever their number: the status of every page and API answer asks
    about the newest few minutes, each of which cost a query of its own.

    stored: counts the reports stored in the minutes it is given, each once; given only the
    minutes in which submissions failed, and not called at all when none did.
    """
    if not minutes:
        return {}
    failed = _submissions_failed(minutes)
    failing = [minute for minute in minutes if failed[minute]]
    counts = stored(failing) if failing else {}
    reasons = {
        minute: f"{failed[minute]} report submissions found no database"
        for minute in failing
        if failed[minute] >= counts.get(minute, 0)
    }
    rest = [minute for minute in minutes if minute not in reasons]
    if rest:
        marked = UncheckedMinute.objects.filter(minute__in=rest).values_list("minute", flat=True)
        reasons |= dict.fromkeys(set(rest) & set(marked), UNCHECKED)
    return reasons


def marks_purge(*, before: dt.datetime) -> int:
    """Delete the unchecked minutes before `before` (Redis forgets its counts by itself)."""
    deleted, _ = UncheckedMinute.objects.filter(minute__lt=before).delete()
    return deleted
