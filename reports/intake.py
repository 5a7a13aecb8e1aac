"""Report submissions we could not store for want of a database, counted per minute.

While our database is away, every report submission is answered 503 and nothing reaches the
buckets. Judged afterwards, those minutes would read as quiet: every open outage would
resolve on our own silence ("resolved" sent to its followers) and open again when the reports
come back ("problems again"), both false. From the reports alone our outage cannot be told
from a site that truly went quiet; this count is the signal from our side. It lives in Redis,
which is up when the database is not (and when Redis is away too, nothing is counted and the
minutes are judged as before).

Only a database that did not answer counts, never another error: an error that one request
could provoke (a bug on some code path) must not let one client hold every outage open.
Nothing about the client is kept: the key is the minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.core.cache import cache
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# The tick reads a minute back at most its catch-up span (30 minutes) after it closed.
KEEP_SECONDS = 2 * 3600
# Where reports are submitted: the API and the service page's form.
SUBMISSION_VIEWS = frozenset({"report-create", "reports:service"})

_last_logged = 0.0


def _key(minute: dt.datetime) -> str:
    return f"intake-failed:{int(minute.timestamp()) // 60}"


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
    global _last_logged
    key = _key(now or timezone.now())
    try:
        cache.add(key, 0, timeout=KEEP_SECONDS)
        cache.incr(key)
    except (RedisError, ValueError) as exc:  # ValueError: the key expired in between
        # One line a minute while both stores are away, not one per request.
        if time.monotonic() - _last_logged > 60:
            _last_logged = time.monotonic()
            logger.warning("Could not count a report submission that failed: %s", exc)


def submissions_failed(minute: dt.datetime) -> int:
    """How many submissions found no database in `minute` (0 if Redis cannot say)."""
    try:
        return int(cache.get(_key(minute)) or 0)
    except RedisError as exc:
        logger.warning("Could not read the failed report submissions of %s: %s", minute, exc)
        return 0
