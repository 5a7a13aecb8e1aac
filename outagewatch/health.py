"""Whether the stack is doing its job, for a monitor: the database and Redis answer, the
minute jobs keep up with the clock (bucketing and the detector's tick, the worker's sweep of
the outboxes), messages due are taken by a worker, and beat is alive.

A stopped worker or detector was visible nowhere: the pages went on showing the last verdict
while reports piled up unjudged (scale tester, fortieth session). A stopped worker showed
only once an email was overdue, with the next outage's first message already late (ops
tester, forty-fourth session): its sweep runs every minute, so its absence shows at once.
A stopped beat showed only by elimination, every minute job behind at once: its own
heartbeat names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection

from alerts.selectors import MAIL_STUCK_MINUTES, mail_stuck, outbox_overdue, outbox_swept_at
from detection.selectors import pipeline_progress
from outagewatch.beat_lease import HEARTBEAT_STALE_SECONDS, heartbeat_read


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())


def system_health(*, now: datetime) -> Health:
    checks: dict[str, Check] = {}
    try:
        progress = pipeline_progress(now=now)
    except DatabaseError as exc:
        checks["database"] = Check(False, f"The database does not answer: {type(exc).__name__}.")
    else:
        checks["database"] = Check(True, "The database answers.")
        limit = settings.HEALTH_MAX_LAG_MINUTES
        checks["bucketing"] = _lag(
            "Reports are counted into minutes",
            progress.buckets_behind,
            limit,
            until=progress.bucketed_until,
        )
        checks["detection"] = _lag(
            "Every minute is judged", progress.detection_behind, limit, until=progress.judged
        )
        swept = outbox_swept_at()
        checks["worker"] = _lag(
            "The worker sweeps the outboxes every minute",
            None if swept is None else max(0, int((now - swept).total_seconds() // 60)),
            limit,
            until=swept,
        )
        checks["alerts"] = _overdue(now=now, minutes=limit)
        checks["mail"] = _mail(now=now)
    try:
        cache.get("health-probe")
    except Exception as exc:  # any failure of the cache's client: Redis is what it names
        checks["redis"] = Check(False, f"Redis does not answer: {type(exc).__name__}.")
    else:
        checks["redis"] = Check(True, "Redis answers.")
    checks["beat"] = _beat(now=now, redis_ok=checks["redis"].ok)
    return Health(checks)


def _beat(*, now: datetime, redis_ok: bool) -> Check:
    what = "Beat sends the periodic jobs"
    if not redis_ok:
        # Its heartbeat is kept in Redis: a Redis away is the redis check's failure, and
        # failing this one too would send the on-call to restart a beat that may be fine.
        return Check(True, f"{what}: not known while Redis does not answer (the redis check).")
    try:
        heartbeat, standby = heartbeat_read()
    except Exception as exc:  # Redis went away since the redis check: as above
        return Check(True, f"{what}: not known, Redis did not answer ({type(exc).__name__}).")
    if heartbeat is None:
        return Check(False, f"{what}: not started yet (no heartbeat since Redis started, or ever).")
    seconds = max(0, int((now - heartbeat.at).total_seconds()))
    figures = {"behind_minutes": seconds // 60, "as_of": heartbeat.at}
    also = f"; another beat stands by ({standby})" if standby else ""
    if seconds > HEARTBEAT_STALE_SECONDS:
        return Check(
            False,
            f"{what}: last heard {_ago(seconds)} ago, from {heartbeat.by} (more than "
            f"{HEARTBEAT_STALE_SECONDS} s: it is stopped or stuck){also}.",
            figures,
        )
    return Check(True, f"{what}: {heartbeat.by}, heard {_ago(seconds)} ago{also}.", figures)


def _ago(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"


def _lag(what: str, behind: int | None, limit: int, *, until: datetime | None) -> Check:
    if behind is None:
        return Check(False, f"{what}: not started yet (no run has finished).")
    figures = {"behind_minutes": behind, "as_of": until}
    if behind > limit:
        return Check(
            False, f"{what}: {behind} minutes behind the clock (more than {limit}).", figures
        )
    if behind == 0:
        return Check(True, f"{what}: up to date.", figures)
    # Within the limit but not current: "up to date" at the limit's edge hid a backlog.
    unit = "minute" if behind == 1 else "minutes"
    return Check(True, f"{what}: {behind} {unit} behind the clock (at most {limit}).", figures)


def _overdue(*, now: datetime, minutes: int) -> Check:
    count, since = outbox_overdue(now=now, minutes=minutes)
    figures = {"overdue": count, "as_of": since}
    if count:
        return Check(
            False,
            f"Messages are taken by a worker: {count} due more than {minutes} minutes ago "
            "and not taken.",
            figures,
        )
    return Check(True, "Messages are taken by a worker: none overdue.", figures)


def _mail(*, now: datetime) -> Check:
    count, since = mail_stuck(now=now)
    figures = {"failing": count, "as_of": since}
    if count:
        return Check(
            False,
            f"Emails leave: {count} failed every attempt for more than {MAIL_STUCK_MINUTES} "
            "minutes and none was sent meanwhile (the mail relay refuses or cannot be "
            "reached; their last errors are in the admin).",
            figures,
        )
    return Check(True, "Emails leave: none stuck on the mail relay.", figures)


def web_alive() -> Check:
    """Whether this web process can take reports: its database answers. Redis is not asked (a
    report is stored uncounted while Redis is down), nor are the minute jobs (a stopped
    detector is no reason to take the website and the report API out of a load balancer)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Check(False, f"The database does not answer: {type(exc).__name__}.")
    return Check(True, "This web server and its database answer.")
