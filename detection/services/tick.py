"""The per-minute detection tick: rows -> arrays -> detection.core -> rows.

Each closed minute is judged exactly once: the tick claims it by moving the "tick" cursor
with a conditional UPDATE inside the transaction that writes the results, so a task that is
delivered twice, or two beats racing, cannot judge a minute twice.

A worker keeps what its last committed tick read and wrote, and reads back only what may
have changed: the states and the window of buckets when the claim shows that no other tick
ran since, the stacked baselines while the stored ones are unchanged. Every such shortcut
gives exactly what a fresh read gives (bench/scale/README.md, "What a worker keeps between
minutes").
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from django.db import transaction
from django.utils import timezone

from detection.cache import data_version_bump
from detection.clocks import utc_offsets_at
from detection.core import DetectorState
from detection.models import OVERALL, JobCursor, SeriesState
from detection.selectors import minute_stored
from detection.services.batches import baseline_cache, tick_run
from detection.services.bulk import upsert
from detection.services.config import detector_config
from detection.services.lasttick import (
    LastTick,
    last_tick,
    last_tick_forget,
    last_tick_remember,
)
from detection.services.outages import (
    TickView,
    outages_apply,
    statuses_save,
)
from detection.services.overlap import Alongside, overlap_possible
from detection.services.series import counts_recent, series_active
from detection.services.states import states_encode, states_load
from detection.services.timeutil import CLOCK_SLACK, minute_floor, to_epoch_minute
from detection.services.upstream import upstream_refresh
from reports.intake import minute_unheard
from reports.models import Service

logger = logging.getLogger(__name__)
CURSOR = JobCursor.TICK
# After a longer outage of the workers we judge only the newest minutes: replaying hours of
# stale minutes would only send stale alerts.
MAX_CATCH_UP_MINUTES = 30


@dataclass(frozen=True)
class TickDone:
    minute: dt.datetime
    series: int
    opened: int
    resolved: int
    # Seconds per phase (series, buckets, states, clocks, baselines, core, outages, write
    # states, statuses): logged, and what bench/scale reports.
    phases: dict[str, float] = field(default_factory=dict, compare=False)
    # "memory" if the stored states were this process's own last writes, else "database".
    states_from: str = field(default="", compare=False)


def detect_tick(*, now: dt.datetime | None = None) -> list[TickDone]:
    """Judge every closed minute that has not been judged yet, oldest first."""
    now = now or timezone.now()
    newest = minute_floor(now) - dt.timedelta(minutes=1)
    cursor = JobCursor.objects.filter(name=CURSOR).first()
    if cursor is not None and cursor.position > newest + CLOCK_SLACK:
        # Judged "ahead" by a run whose clock was wrong: left there, every minute up to it
        # would count as judged, and an outage in them would go unseen.
        logger.error(
            "Detection's cursor is at %s, ahead of the clock (%s): a clock that jumped? "
            "Judging from the newest minute again.",
            cursor.position,
            newest,
        )
        # Only while it is still ahead: another run may have put it back and judged the
        # newest minute since it was read, and a reset then would have that minute judged
        # twice. Where it was moved meanwhile, go on from where it is now.
        behind = newest - dt.timedelta(minutes=1)
        ahead = JobCursor.objects.filter(name=CURSOR, position__gt=newest + CLOCK_SLACK)
        if not ahead.update(position=behind):
            cursor.refresh_from_db(fields=["position"])
        else:
            cursor.position = behind
    first = newest if cursor is None else cursor.position + dt.timedelta(minutes=1)
    skipped_from = None
    # The newest MAX_CATCH_UP_MINUTES minutes, newest included (it judged 31; review).
    if newest - first >= dt.timedelta(minutes=MAX_CATCH_UP_MINUTES):
        logger.warning("Detection is %s behind; judging only the newest minutes", newest - first)
        skipped_from = first
        first = newest - dt.timedelta(minutes=MAX_CATCH_UP_MINUTES - 1)
    done = []
    minute = first
    while minute <= newest:
        # The first minute after a skip also looks at the skipped minutes in its window.
        after_skip = skipped_from if minute == first else None
        result = tick_minute(minute=minute, now=now, skipped_from=after_skip)
        if result is not None:
            done.append(result)
        minute += dt.timedelta(minutes=1)
    return done


def tick_minute(
    *, minute: dt.datetime, now: dt.datetime, skipped_from: dt.datetime | None = None
) -> TickDone | None:
    """Judge one closed minute for every active series; None if it was judged already.

    skipped_from: the minutes from there up to `minute` were skipped by the catch-up, never
    judged.
    """
    config = detector_config()
    phases = _Phases()
    overlap = overlap_possible()
    with transaction.atomic():
        claim = _claim(minute)
        if claim is None:
            return None
        found, left = claim
        kept = last_tick(found)
        with phases("series"):
            keys = series_active(now=minute)
            if kept is not None and keys == kept.keys:
                # Compared once here; the readers below see the same list and trust it.
                keys = kept.keys
        # The claim is all this transaction wrote so far: a second connection reads the
        # baselines it would (detection.services.overlap), while this one reads the rest.
        with Alongside(overlap, baseline_cache().parts, keys, minute, config) as baselines:
            with phases("buckets"):
                width = max(config.scoring.windows)
                observed, recent = counts_recent(keys, last=minute, minutes=width, kept=kept)
            with phases("states"):
                state, source = states_load(keys, kept=kept)
            with phases("clocks"):  # a new process works out each country's clock once
                offsets = _utc_offsets(keys, minute, width)
            with phases("baselines"):  # what is left of the read once the rest is in
                parts = baselines.result()
        unheard = _unheard(minute)
        quiet = _quiet_before(keys, state, minute)
        with phases("core"):
            result = tick_run(
                parts,
                state,
                observed,
                to_epoch_minute(minute),
                config,
                offsets,
                unheard,
                None if skipped_from is None else to_epoch_minute(skipped_from),
                quiet,
            )
        view = TickView(
            keys=keys,
            result=result,
            observed=observed[:, -1],
            minute=minute,
            now=now,
            window=observed,
        )
        with phases("outages"):
            applied = outages_apply(view=view)
            outage_ids = applied.active
            tr = result.transition
            if applied.retired or (tr.opened | tr.reopened | tr.resolved).any():
                upstream_refresh(now=now)
        with phases("write states"):
            _states_save(view, outage_ids)
        with phases("statuses"):
            statuses_save(view=view)
        transaction.on_commit(data_version_bump)
        last = LastTick(left, keys, result.transition.state, recent)
        transaction.on_commit(partial(last_tick_remember, last))
    done = TickDone(
        minute=minute,
        series=len(keys),
        opened=int(result.transition.opened.sum()),
        resolved=int(result.transition.resolved.sum()),
        phases=phases.seconds,
        states_from=source,
    )
    logger.info(
        "Tick %s: %d series in %.2f s (states from %s; %s)",
        f"{minute:%Y-%m-%d %H:%M}",
        len(keys),
        sum(phases.seconds.values()),
        source,
        ", ".join(f"{name} {t:.2f}" for name, t in phases.seconds.items()),
    )
    return done


def tick_prime(*, now: dt.datetime | None = None) -> int:
    """Read ahead, in this process, what the next minute would otherwise read first: the
    stored baselines of the series it will judge (stacked in the cache), the states and
    window of buckets the last committed tick left (held as if this process had run that
    tick), and the series' clocks. Reads only. Returns how many series.

    A worker's first tick otherwise reads them itself: at 100k series about 10 s against
    4-5 s for a warm minute, on the benchmark's machine (bench/scale/README.md). The
    detector asks for this when it starts (outagewatch/celery.py), which is usually in the
    idle rest of a minute. Whatever changes before the tick is read by the tick as ever: a
    series that becomes active or is refitted, and everything if another tick runs first
    (its claim then finds another cursor than the one read here).
    """
    config = detector_config()
    minute = minute_floor(now or timezone.now())
    start = time.perf_counter()
    keys = series_active(now=minute)
    width = max(config.scoring.windows)
    with Alongside(overlap_possible(), baseline_cache().parts, keys, minute, config) as baselines:
        kept = _last_tick_read(keys, width=width)
        _utc_offsets(keys, minute, width)  # each country's clock worked out once
        baselines.result()
    logger.info(
        "Primed the baselines%s of %d series in %.2f s",
        "" if kept is None else ", states and buckets",
        len(keys),
        time.perf_counter() - start,
    )
    return len(keys)


def _unheard(minute: dt.datetime) -> bool:
    """Whether `minute`'s reports did not all reach its buckets (reports.intake)."""
    reason = minute_unheard(minute, partial(minute_stored, minute))
    if reason:
        logger.warning(
            "Judged %s as a minute we did not hear (%s): open outages wait rather than resolve",
            f"{minute:%Y-%m-%d %H:%M}",
            reason,
        )
    return bool(reason)


def _quiet_before(keys: list, state: DetectorState, minute: dt.datetime) -> np.ndarray | None:
    """Minutes each service's overall series was watched before `minute` with no state yet
    (its first reports; run_tick's quiet_before); None when no series is that new.

    Only the overall series: a country's quiet says little (a service is watched in every
    country at once, and its first report from one is no news).
    """
    fresh = np.flatnonzero((state.level_observed == 0) & (state.level_expected == 0))
    new = {int(i): keys[i][0] for i in fresh if keys[i][1] == OVERALL}
    if not new:
        return None
    since = dict(
        Service.objects.filter(pk__in=set(new.values())).values_list("pk", "watched_since")
    )
    quiet = np.zeros(len(keys))
    for i, service_id in new.items():
        if service_id in since:
            quiet[i] = max((minute - since[service_id]).total_seconds() / 60.0, 0.0)
    return quiet


def _utc_offsets(keys: list, minute: dt.datetime, width: int) -> np.ndarray:
    """The series' UTC offsets over the window of `width` minutes up to `minute`."""
    at = to_epoch_minute(minute)
    return utc_offsets_at([country for _, country in keys], np.arange(at - width + 1, at + 1))


def _cursor() -> tuple | None:
    return JobCursor.objects.filter(name=CURSOR).values_list("position", "updated_at").first()


def _last_tick_read(keys: list, *, width: int) -> LastTick | None:
    """What the last committed tick left, read back and remembered as this process's own; None
    if no tick ran yet or one committed while reading (its states may be half read)."""
    found = _cursor()
    if found is None:
        return None
    state, _ = states_load(keys, kept=None)
    _, window = counts_recent(keys, last=found[0], minutes=width, kept=None)
    # A tick moves the cursor in the transaction that writes the states: the same cursor
    # after the reads means they are all of the tick that left it.
    if _cursor() != found:
        return None
    kept = LastTick(found, keys, state, window)
    last_tick_remember(kept)
    return kept


def tick_forget() -> None:
    """Drop what this process kept of its last tick (the next reads everything back)."""
    last_tick_forget()


class _Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _claim(minute: dt.datetime) -> tuple[tuple, tuple] | None:
    """Claim `minute` with a conditional UPDATE; None if another tick has it already.

    Returns the cursor (position, claimed_at) as the claim found it and as it left it: if the
    one found is the one this process left last time, no other tick ran in between and the
    stored states are the bytes this process wrote (states_load uses its copy). The row is
    locked first so that what is found is what the UPDATE replaces.
    """
    JobCursor.objects.get_or_create(
        name=CURSOR, defaults={"position": minute - dt.timedelta(minutes=1)}
    )
    cursor = JobCursor.objects.select_for_update().get(name=CURSOR)
    stamp = timezone.now()
    claimed = JobCursor.objects.filter(name=CURSOR, position__lt=minute).update(
        position=minute, updated_at=stamp
    )
    if not claimed:
        return None
    return (cursor.position, cursor.updated_at), (minute, stamp)


def _states_save(view: TickView, outage_ids: dict[int, int]) -> None:
    """Every ticked series' state and verdict in one upsert."""
    new = view.result.transition.state
    scores = view.result.scores
    blobs = states_encode(new)
    in_outage = new.state == 2
    upsert(
        SeriesState,
        {
            "service_id": [sid for sid, _ in view.keys],
            "country": [country for _, country in view.keys],
            "state": new.state.tolist(),
            "memory": blobs,
            "level": scores.level.tolist(),
            "observed": view.observed.tolist(),
            # Shown as a country's "N× normal" (detection.live): the normal the words quote.
            "expected": view.result.normal.tolist(),
            "score": scores.score.tolist(),
            "rule": scores.rule.tolist(),
            "held": np.asarray(scores.held, dtype=bool).tolist(),
            "outage_id": [
                outage_ids.get(sid) if in_outage[i] else None
                for i, (sid, _) in enumerate(view.keys)
            ],
        },
        unique=["service_id", "country"],
        constant={"minute": view.minute},
    )
