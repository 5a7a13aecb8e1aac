"""Small helpers every selector module shares: epoch-minute arithmetic, the bucket window of a
span, the level codes, and the names stored with statuses and outages (country codes, problem
names). Kept apart so that the modules built on them need not import one another for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Q

from reports.models import ProblemType

LEVEL_CODES = {0: "ok", 1: "possible", 2: "problems"}


def epoch_minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


def minute_datetime(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def _country_codes(raw: Any) -> list[str]:
    """Outage/status country lists as plain codes, whether stored as codes or as dicts."""
    codes = []
    for item in raw or []:
        code = item.get("country", "") if isinstance(item, dict) else str(item)
        if code:
            codes.append(code)
    return codes


def minutes_between(start: datetime, end: datetime) -> Q:
    """The minute buckets of [start, end): a bucket holds its minute from `minute` on, so the
    day before the watermark `end` is end - 24 h to end, 1440 buckets. The one window of
    every "last N" count of the service page: its 24-hour counter took the bucket at
    end - 24 h and the breakdowns beside it did not, while they took buckets at or past
    `end`, which it did not (query audit)."""
    return Q(minute__gte=start, minute__lt=end)


def _problem_names(slugs: list[str]) -> dict[str, str]:
    return dict(ProblemType.objects.filter(slug__in=slugs).values_list("slug", "name"))
