"""How far the minute jobs have got against the clock: the buckets' watermark, the newest minute
judged, and whether a verdict read now is current. Reads the job cursors only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from detection.models import JobCursor
from detection.reads import Reads


def bucketed_until(now: datetime) -> datetime:
    """The end of the minutes already counted into buckets (Reads.bucketed_until), for a
    caller that needs nothing else the watermark's read could share."""
    return Reads(now).bucketed_until


@dataclass(frozen=True)
class PipelineProgress:
    """How far the minute jobs have got, against the clock: minutes behind (None: never run)."""

    bucketed_until: datetime | None  # the first minute not aggregated yet
    judged: datetime | None  # the newest minute the tick judged
    buckets_behind: int | None
    detection_behind: int | None


def pipeline_progress(*, now: datetime) -> PipelineProgress:
    """Bucketing is current when it has aggregated every closed minute; the tick when it has
    judged the newest closed one. A stopped worker or detector showed nowhere: the pages kept
    the last verdict ("No problems") while reports piled up (scale tester, fortieth session)."""
    rows = dict(
        JobCursor.objects.filter(name__in=[JobCursor.BUCKETS, JobCursor.TICK]).values_list(
            "name", "position"
        )
    )
    bucketed, judged = rows.get(JobCursor.BUCKETS), rows.get(JobCursor.TICK)
    return PipelineProgress(
        bucketed_until=bucketed,
        judged=judged,
        buckets_behind=_behind(bucketed, now.replace(second=0, microsecond=0)),
        detection_behind=_judged_behind(judged, now=now),
    )


def _behind(position: datetime | None, due: datetime) -> int | None:
    return None if position is None else max(int((due - position).total_seconds() // 60), 0)


def _judged_behind(judged: datetime | None, *, now: datetime) -> int | None:
    """Closed minutes after the newest judged one: the newest closed minute is due."""
    return _behind(judged, now.replace(second=0, microsecond=0) - timedelta(minutes=1))


def minute_judged() -> datetime | None:
    """The newest minute the tick judged (None before its first run)."""
    return JobCursor.objects.filter(name=JobCursor.TICK).values_list("position", flat=True).first()


@dataclass(frozen=True)
class DetectionFreshness:
    """Whether the statuses read now are current: the newest minute judged, how far behind
    the clock that is, and whether it is within HEALTH_MAX_LAG_MINUTES (never-run: not)."""

    as_of: datetime | None
    behind_minutes: int | None
    current: bool


def detection_freshness(*, judged: datetime | None, now: datetime) -> DetectionFreshness:
    """One rule for every reader of a verdict (the pages' notice, the read API): a stopped
    detector or beat leaves the last verdict in place, and with beat stopped for ten minutes
    /api/v1/status/ answered an empty list, "no problems", with nothing to tell it was ten
    minutes old (ops tester, fifty-fourth session). `judged`: minute_judged(), which only a
    tick moves on, so a reader may keep it as long as it keeps the answer it read with it."""
    behind = _judged_behind(judged, now=now)
    return DetectionFreshness(
        as_of=judged,
        behind_minutes=behind,
        current=behind is not None and behind <= settings.HEALTH_MAX_LAG_MINUTES,
    )
