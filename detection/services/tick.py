"""The per-minute detection tick: rows -> arrays -> detection.core -> rows.

Each closed minute is judged exactly once: the tick claims it by moving the "tick" cursor
with a conditional UPDATE inside the transaction that writes the results, so a task that is
delivered twice, or two beats racing, cannot judge a minute twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from detection.cache import data_version_bump
from detection.core import Baseline, BaselineBatch, DetectorState, prior_baseline, run_tick
from detection.models import JobCursor, SeriesBaseline, SeriesState
from detection.services.config import detector_config
from detection.services.outages import TickView, outages_apply, statuses_save
from detection.services.series import SeriesKey, counts_matrix, series_active
from detection.services.timeutil import minute_floor, to_epoch_minute

logger = logging.getLogger(__name__)
CURSOR = "tick"
# After a longer outage of the workers we judge only the newest minutes: replaying hours of
# stale minutes would only send stale alerts.
MAX_CATCH_UP_MINUTES = 30


@dataclass(frozen=True)
class TickDone:
    minute: dt.datetime
    series: int
    opened: int
    resolved: int


def detect_tick(*, now: dt.datetime | None = None) -> list[TickDone]:
    """Judge every closed minute that has not been judged yet, oldest first."""
    now = now or timezone.now()
    newest = minute_floor(now) - dt.timedelta(minutes=1)
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    first = newest if cursor is None else cursor.position + dt.timedelta(minutes=1)
    if newest - first > dt.timedelta(minutes=MAX_CATCH_UP_MINUTES):
        logger.warning("Detection is %s behind; judging only the newest minutes", newest - first)
        first = newest - dt.timedelta(minutes=MAX_CATCH_UP_MINUTES)
    done = []
    minute = first
    while minute <= newest:
        result = tick_minute(minute=minute, now=now)
        if result is not None:
            done.append(result)
        minute += dt.timedelta(minutes=1)
    return done


def tick_minute(*, minute: dt.datetime, now: dt.datetime) -> TickDone | None:
    """Judge one closed minute for every active series; None if it was judged already."""
    config = detector_config()
    with transaction.atomic():
        if not _claim(minute):
            return None
        keys = series_active(now=minute)
        width = max(config.scoring.windows)
        observed = counts_matrix(
            keys, first=minute - dt.timedelta(minutes=width - 1), minutes=width
        )
        states = {(s.service_id, s.country): s for s in SeriesState.objects.all()}
        result = run_tick(
            _baselines(keys, minute),
            _detector_state(keys, states),
            observed,
            to_epoch_minute(minute),
            config,
        )
        view = TickView(keys=keys, result=result, observed=observed[:, -1], minute=minute, now=now)
        outage_ids = outages_apply(view=view)
        _states_save(view, outage_ids)
        statuses_save(view=view)
        transaction.on_commit(data_version_bump)
    return TickDone(
        minute=minute,
        series=len(keys),
        opened=int(result.transition.opened.sum()),
        resolved=int(result.transition.resolved.sum()),
    )


def _claim(minute: dt.datetime) -> bool:
    JobCursor.objects.get_or_create(
        name=CURSOR, defaults={"position": minute - dt.timedelta(minutes=1)}
    )
    return bool(JobCursor.objects.filter(name=CURSOR, position__lt=minute).update(position=minute))


def _baselines(keys: list[SeriesKey], minute: dt.datetime) -> BaselineBatch:
    config = detector_config()
    stored = {
        (row.service_id, row.country): row.params
        for row in SeriesBaseline.objects.filter(service_id__in={sid for sid, _ in keys})
    }
    prior = prior_baseline(to_epoch_minute(minute))
    baselines = [Baseline.from_dict(stored[key]) if key in stored else prior for key in keys]
    return BaselineBatch.from_baselines(baselines, config)


def _detector_state(keys: list[SeriesKey], rows: dict[SeriesKey, SeriesState]) -> DetectorState:
    # The core owns the record's layout (DetectorState.from_records): nothing here names a field.
    return DetectorState.from_records([_record(rows.get(key)) for key in keys])


def _record(row: SeriesState | None) -> dict | None:
    return row.core_state if row is not None else None


def _states_save(view: TickView, outage_ids: dict[int, int]) -> None:
    new = view.result.transition.state
    scores = view.result.scores
    records = new.to_records()
    rows = [
        SeriesState(
            service_id=sid,
            country=country,
            minute=view.minute,
            state=int(new.state[i]),
            core_state=records[i],
            level=int(scores.level[i]),
            observed=float(view.observed[i]),
            expected=float(view.result.expected[i]),
            score=float(scores.score[i]),
            rule=str(scores.rule[i]),
            outage_id=outage_ids.get(sid) if new.state[i] == 2 else None,
        )
        for i, (sid, country) in enumerate(view.keys)
    ]
    SeriesState.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["service", "country"],
        update_fields=[
            "minute",
            "state",
            "core_state",
            "level",
            "observed",
            "expected",
            "score",
            "rule",
            "outage",
        ],
        batch_size=1000,
    )
