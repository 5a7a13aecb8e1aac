"""Simulated traffic written into the database: history for demos, live reports for tests.

History rows are inserted in bulk as ordinary Report rows (each simulated reporter distinct
and counted), then bucketed and fitted by the same services production uses. Live traffic
goes through reports.services.report_create, dedup and all.

History is written next to a running stack (`make run`, SQLite): in short transactions (one
batch of reports, one day of buckets), while the detection tick stands aside (tick_paused,
a flag in Redis that expires by itself if the command dies), so neither holds the database
for long. Its rows are marked (SIMULATED_KEY_PREFIX, SIMULATED_MARK): a rerun refuses or
replaces them, and history_reset removes them and nothing else.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from redis.exceptions import RedisError

from detection.core import detect_series
from detection.models import (
    Bucket,
    HourlyBucket,
    JobCursor,
    Outage,
    OutageEvent,
    ProblemSite,
    SeriesSite,
    UpstreamOutage,
)
from detection.official.models import OfficialIncident, ServiceStatusSource
from detection.services.baselines import baselines_refit
from detection.services.buckets import buckets_aggregate, buckets_rewritten
from detection.services.config import detector_config
from detection.services.outage_tally import outage_tallies
from detection.services.outages import tally_apply
from detection.services.series import series_history
from detection.services.timeutil import (
    from_epoch_minute,
    hour_floor,
    minute_floor,
    to_epoch_minute,
)
from detection.simulation import simulate_series
from outagewatch.rounding import figure_text
from reports.models import Report, Service
from reports.services import report_create

# Where simulated reporters are: a plausible global audience.
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "ES", "IT", "NL", "PL", "AU"]
COUNTRY_WEIGHTS = np.array([30, 9, 9, 7, 8, 7, 5, 5, 4, 4, 4, 4, 4], dtype=float)
COUNTRY_WEIGHTS /= COUNTRY_WEIGHTS.sum()
# The most used services get history; rates span small to busy (reports per minute).
HISTORY_SERVICES = [
    "chatgpt", "whatsapp", "instagram", "youtube", "gmail", "slack", "github", "netflix",
    "steam", "paypal", "aws", "discord", "spotify", "microsoft-teams", "x-twitter", "zoom",
]  # fmt: skip


logger = logging.getLogger(__name__)

# Simulated reports carry reporter keys no real network hash has (those are 64 hex digits);
# simulated outages' explanations end with this mark (simulated_explanation).
SIMULATED_KEY_PREFIX = "sim-"
SIMULATED_MARK = "(simulated history)"
# Simulated official incidents (for the track record) have external ids starting with this.
SIMULATED_INCIDENT_PREFIX = "simulated-"
# Of the simulated outages of a service with an official source, the share its provider
# "acknowledges", and how late (minutes after detection; negative: the provider was first).
SIMULATED_ACK_SHARE = 0.8
SIMULATED_LEAD_MINUTES = (-10, 45)
# Rows per INSERT transaction: short enough that a report from the web waits a moment at most.
BATCH_ROWS = 2000
# While set, the detection tick skips its run (detection.tasks.detect_minute); refreshed as
# the history is written and gone by itself this long after a crash.
TICK_PAUSE_KEY = "detection:tick-paused"
TICK_PAUSE_SECONDS = 300
# A tick that judged a minute this recently is running (it runs every minute).
TICK_ALIVE = dt.timedelta(minutes=3)
SQLITE_YIELD_SECONDS = 0.05

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class HistorySeeded:
    services: int
    reports: int
    outages: int


@dataclass(frozen=True)
class HistoryReset:
    reports: int
    outages: int


class HistoryExists(Exception):
    """Simulated history is there already: writing it again would double it."""


class TickNotPausable(Exception):
    """A detection tick is running that this process cannot reach to pause."""


def tick_paused() -> bool:
    """Whether a history backfill asked the detection tick to stand aside."""
    try:
        return bool(cache.get(TICK_PAUSE_KEY))
    except RedisError:
        return False  # no way to ask: tick as usual (its transactions are short too)


def _tick_pause_refresh() -> None:
    with suppress(RedisError):  # _tick_pause found out at the start whether anyone ticks
        cache.set(TICK_PAUSE_KEY, 1, timeout=TICK_PAUSE_SECONDS)


def _tick_running(now: dt.datetime) -> dt.datetime | None:
    """When a detection tick last judged a minute, if one did in the last TICK_ALIVE."""
    cursor = JobCursor.objects.filter(name=JobCursor.TICK, updated_at__gte=now - TICK_ALIVE)
    return cursor.values_list("updated_at", flat=True).first()


@contextmanager
def _tick_pause() -> Iterator[None]:
    """Ask the detection tick to stand aside while history is written (a Redis key it reads).
    Where Redis does not answer and a tick is running all the same, it uses another Redis
    (`make run` with REDIS_URL moved, this command without): the two would write at once,
    which on SQLite ends with "database is locked" halfway. So that refuses, naming the fix."""
    try:
        cache.set(TICK_PAUSE_KEY, 1, timeout=TICK_PAUSE_SECONDS)
    except RedisError as exc:
        ticked = _tick_running(timezone.now())
        if ticked is not None:
            where = urlsplit(settings.REDIS_URL)  # no password in the message
            raise TickNotPausable(
                f"The detector is running (it judged a minute at {ticked:%H:%M:%S} UTC) but "
                f"Redis at {where.hostname}:{where.port or 6379} does not answer ({exc}), so "
                "it cannot be asked to pause while history is written: run this command "
                "with the REDIS_URL that `make run` was given."
            ) from None
    try:
        yield
    finally:
        with suppress(RedisError):  # or it expires by itself
            cache.delete(TICK_PAUSE_KEY)


def simulated_explanation(text: str) -> str:
    """An outage explanation marked as simulated: history_reset finds outages by the mark."""
    return f"{text} {SIMULATED_MARK}"


def history_exists() -> bool:
    return Report.objects.filter(reporter_key__startswith=SIMULATED_KEY_PREFIX).exists()


def history_seed(
    *,
    weeks: float,
    services: int,
    seed: int = 1,
    now: dt.datetime | None = None,
    replace: bool = False,
    progress: Progress = _quiet,
) -> HistorySeeded:
    """Give the newest `services` popular services `weeks` of realistic report history.

    Raises HistoryExists when simulated history is there already, unless `replace` (which
    removes it first).
    """
    existing = history_exists()
    if existing and not replace:
        raise HistoryExists(
            "Simulated history exists already; run `simulate reset` first or pass --replace."
        )
    end = to_epoch_minute(minute_floor(now or timezone.now()))
    start = end - round(weeks * 7 * 1440)
    chosen = _history_services(services)
    rng = np.random.default_rng(seed)
    total = 0
    if existing:
        history_reset(progress=progress)  # refuses, changing nothing, as _tick_pause does
    with _tick_pause():
        progress(f"Writing {weeks:g} weeks of history for {len(chosen)} services…")
        for k, service in enumerate(chosen):
            rate = float(np.exp(rng.uniform(np.log(0.2), np.log(6.0))))
            series = simulate_series(
                seed=seed * 1000 + k,
                weeks=weeks,
                base_rate=rate,
                start_minute=start,
                outages_per_week=0.7,
                floods_per_week=0,
            )
            written = _reports_insert(service, series.minutes, series.values, rng)
            total += written
            progress(f"{service.name}: {written:,} reports ({k + 1}/{len(chosen)} services)")
        _buckets_rebuild(from_epoch_minute(start), from_epoch_minute(end), progress)
        outages = sum(_outages_from_history(service, end) for service in chosen)
        progress(f"{outages} past outages found in the history")
        incidents = official_incidents_simulate(services=chosen, rng=rng)
        progress(f"{incidents} official incidents written for the track record")
        _tick_pause_refresh()
        baselines_refit(now=from_epoch_minute(end))
        progress("Baselines fitted")
    return HistorySeeded(services=len(chosen), reports=total, outages=outages)


def history_reset(*, progress: Progress = _quiet, now: dt.datetime | None = None) -> HistoryReset:
    """Remove simulated history (reports, their buckets, outages, the upstream outages left
    without outages and the simulated official incidents) and only that.

    Outages the running detector opened on simulated reports (the newest minutes of the
    history are live to it) go too: those with no real counted report in their span."""
    simulated = Report.objects.filter(reporter_key__startswith=SIMULATED_KEY_PREFIX)
    with _tick_pause():
        span = simulated.aggregate(first=Min("created_at"), last=Max("created_at"))
        service_ids = list(simulated.order_by().values_list("service_id", flat=True).distinct())
        simulated_outages = Outage.objects.filter(explanation__endswith=SIMULATED_MARK)
        outages = simulated_outages.count()
        simulated_outages.delete()
        OfficialIncident.objects.filter(external_id__startswith=SIMULATED_INCIDENT_PREFIX).delete()
        if span["first"] is None:
            UpstreamOutage.objects.filter(outages__isnull=True).delete()
            return HistoryReset(reports=0, outages=outages)
        outages += _outages_of_nobody_delete(
            service_ids, span["first"], span["last"], now or timezone.now()
        )
        removed = 0
        while ids := list(simulated.values_list("pk", flat=True)[:BATCH_ROWS]):
            removed += Report.objects.filter(pk__in=ids).delete()[0]
            _tick_pause_refresh()
        progress(f"Removed {removed:,} simulated reports")
        # Upstream outages that grouped only those go too (a group never loses a real outage).
        UpstreamOutage.objects.filter(outages__isnull=True).delete()
        # Their buckets are recounted from the reports that remain (real ones, if any): the
        # aggregation only adds, so the simulated span's buckets go first.
        first = hour_floor(span["first"])
        last = hour_floor(span["last"]) + dt.timedelta(hours=1)
        in_span = {"service_id__in": service_ids}
        Bucket.objects.filter(**in_span, minute__gte=first, minute__lt=last).delete()
        HourlyBucket.objects.filter(**in_span, hour__gte=first, hour__lt=last).delete()
        # The simulated networks stand for sites (their reports name no site of their own).
        SeriesSite.objects.filter(site_key__startswith=SIMULATED_KEY_PREFIX).delete()
        ProblemSite.objects.filter(site_key__startswith=SIMULATED_KEY_PREFIX).delete()
        buckets_rewritten(first)
        _buckets_rebuild(first, min(last, minute_floor(now or timezone.now())), progress)
        baselines_refit(now=now)
    progress(f"Removed {outages} simulated outages")
    return HistoryReset(reports=removed, outages=outages)


def _outages_of_nobody_delete(
    service_ids: list[int], first: dt.datetime, last: dt.datetime, now: dt.datetime
) -> int:
    """Delete the outages of these services begun in the simulated span whose counted reports
    are all simulated (the detector opened them live on the history's newest minutes: they
    are not marked); how many. Called before the simulated reports go."""
    gone = []
    for outage in Outage.objects.filter(
        service_id__in=service_ids, started_at__gte=minute_floor(first), started_at__lte=last
    ):
        in_span = Report.objects.filter(
            service_id=outage.service_id,
            counted=True,
            created_at__gte=outage.started_at,
            created_at__lt=(outage.resolved_at or now) + dt.timedelta(minutes=1),
        )
        simulated = Q(reporter_key__startswith=SIMULATED_KEY_PREFIX)
        if in_span.filter(simulated).exists() and not in_span.exclude(simulated).exists():
            gone.append(outage.pk)
    return Outage.objects.filter(pk__in=gone).delete()[1].get("detection.Outage", 0)


def official_incidents_simulate(*, services: list[Service], rng: np.random.Generator) -> int:
    """Official incidents for the simulated outages of services with an official source, so
    the track record has figures in the demo: most outages acknowledged by the provider
    some minutes after (or before) OutageWatch detected them, some never, and one incident
    per service that the crowd never saw. Marked by their external id (history_reset)."""
    links = ServiceStatusSource.objects.filter(service__in=services).select_related("source")
    rows = []
    for link in links:
        outages = Outage.objects.filter(
            service_id=link.service_id, explanation__endswith=SIMULATED_MARK
        ).order_by("started_at")
        for outage in outages:
            if rng.random() >= SIMULATED_ACK_SHARE:
                continue
            lead = dt.timedelta(minutes=int(rng.integers(*SIMULATED_LEAD_MINUTES)))
            posted = outage.detected_at + lead
            ended = (outage.resolved_at or posted) + dt.timedelta(minutes=20)
            rows.append(_incident(link, f"outage-{outage.pk}", posted, ended))
        earliest, latest = outages.first(), outages.last()
        if earliest is not None and latest is not None:
            first, last = earliest.started_at, latest.started_at
            quiet = first + (last - first) / 2 + dt.timedelta(hours=7)
            rows.append(_incident(link, f"unseen-{link.service_id}", quiet, quiet + 40 * _MINUTE))
    OfficialIncident.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


_MINUTE = dt.timedelta(minutes=1)


def _incident(
    link: ServiceStatusSource, key: str, posted: dt.datetime, ended: dt.datetime
) -> OfficialIncident:
    return OfficialIncident(
        source=link.source,
        external_id=f"{SIMULATED_INCIDENT_PREFIX}{key}",
        title="Degraded performance (simulated)",
        status="resolved",
        impact="major",
        components=list(link.components),
        started_at=posted,
        acknowledged_at=posted,
        resolved_at=ended,
        updated_at=ended,
        first_seen_at=posted,
        last_seen_at=ended,
    )


def _buckets_rebuild(start: dt.datetime, end: dt.datetime, progress: Progress) -> None:
    """Bucket [start, end) an hour at a time: each hour one short transaction, so a report
    from the web waits for one hour's counting at most; progress once a simulated day."""
    hours = max(1, -(-int((end - start).total_seconds()) // 3600))
    days = -(-hours // 24)
    for hour in range(hours):
        hour_start = start + dt.timedelta(hours=hour)
        buckets_aggregate(now=min(hour_start + dt.timedelta(hours=1), end), since=hour_start)
        _let_others_write()
        if (hour + 1) % 24 == 0 or hour + 1 == hours:
            progress(f"Bucketed {-(-(hour + 1) // 24)}/{days} days")


def _history_services(count: int) -> list[Service]:
    by_slug = {s.slug: s for s in Service.objects.filter(slug__in=HISTORY_SERVICES)}
    chosen = [by_slug[slug] for slug in HISTORY_SERVICES if slug in by_slug]
    if len(chosen) < count:
        chosen += list(Service.objects.exclude(slug__in=HISTORY_SERVICES)[: count - len(chosen)])
    return chosen[:count]


def _reports_insert(
    service: Service, minutes: np.ndarray, values: np.ndarray, rng: np.random.Generator
) -> int:
    problems = list(service.problem_types.all())
    weights = 1.0 / np.arange(1, len(problems) + 1)
    weights /= weights.sum()
    batch: list[Report] = []
    count = 0
    for minute, n in zip(minutes, values, strict=True):
        if n <= 0:
            continue
        base = from_epoch_minute(int(minute))
        countries = rng.choice(COUNTRIES, size=int(n), p=COUNTRY_WEIGHTS)
        picks = rng.choice(len(problems), size=int(n), p=weights)
        seconds = rng.uniform(0, 60, size=int(n))
        for country, pick, second in zip(countries, picks, seconds, strict=True):
            batch.append(
                Report(
                    service=service,
                    problem=problems[pick],
                    country=str(country),
                    source=Report.Source.WEB,
                    created_at=base + dt.timedelta(seconds=float(second)),
                    reporter_key=SIMULATED_KEY_PREFIX + secrets.token_hex(30),
                    counted=True,
                )
            )
        if len(batch) >= BATCH_ROWS:
            count += _batch_write(batch)
            batch = []
    return count + _batch_write(batch)


def _batch_write(batch: list[Report]) -> int:
    # One short transaction each, then the database is free for the web and the worker.
    with transaction.atomic():
        Report.objects.bulk_create(batch)
    _let_others_write()
    return len(batch)


def _let_others_write() -> None:
    _tick_pause_refresh()
    if connection.vendor == "sqlite":
        # SQLite has one writer at a time, and a waiting writer polls: without a pause the
        # next batch would take the lock again before a report from the web gets it.
        time.sleep(SQLITE_YIELD_SECONDS)


def _outages_from_history(service: Service, end: int) -> int:
    """Past outages as the live detector would have recorded them (same core, causal)."""
    config = detector_config()
    minutes, values = series_history(
        (service.id, ""), until=from_epoch_minute(end), days=config.baseline.history_days + 7
    )
    if not len(minutes):
        return 0
    result = detect_series(minutes, values, 1, config)
    # Outages already recorded (the live detector's, on real reports among the simulated):
    # the same minutes recorded again read as a second outage of the same event.
    recorded = list(Outage.objects.filter(service=service).values_list("started_at", "resolved_at"))
    created = 0
    for found in result.outages:
        if found.ended_at < 0 or found.onset < minutes[0] + 3 * 1440:
            continue  # still open at the end, or judged on too little history
        started, ended = from_epoch_minute(found.onset), from_epoch_minute(found.ended_at)
        if any(s < ended and (r is None or r > started) for s, r in recorded):
            continue
        i, j = found.onset - minutes[0], found.ended_at - minutes[0]
        peak = i + int(np.argmax(values[i:j] - result.expected[i:j]))
        with transaction.atomic():
            outage = Outage.objects.create(
                service=service,
                status=Outage.Status.RESOLVED,
                started_at=from_epoch_minute(found.onset),
                detected_at=from_epoch_minute(found.opened_at + 1),
                resolved_at=from_epoch_minute(found.ended_at),
                peak_observed=float(values[peak]),
                peak_expected=float(result.expected[peak]),
                peak_at=from_epoch_minute(int(minutes[peak])),
                score=float(result.anomaly_score[i:j].max()),
                rule=str(result.rule[found.opened_at - minutes[0]]),
                judged_cold=False,  # judged on three days of history at least (above)
                explanation=simulated_explanation(
                    f"{int(values[i:j].sum())} counted reports from "
                    f"{from_epoch_minute(found.onset):%H:%M} to "
                    f"{from_epoch_minute(found.ended_at):%H:%M} UTC; peak {values[peak]:.0f} a "
                    f"minute vs {figure_text(result.expected[peak])} expected."
                ),
            )
            # Its countries, problems, total and networks counted as a live outage's are.
            tally = outage_tallies([outage], ended - dt.timedelta(minutes=1))
            tally_apply(outage, tally[outage.id])
            outage.save()
            for kind, at, message in (
                (OutageEvent.Kind.OPENED, outage.detected_at, "Problems detected."),
                (OutageEvent.Kind.RESOLVED, ended, "Back to normal."),
            ):
                OutageEvent.objects.create(outage=outage, at=at, kind=kind, message=message)
        created += 1
    return created


def live_minute(
    *,
    service: Service,
    normal_rate: float,
    extra: float,
    countries: list[str],
    flood: int,
    rng: np.random.Generator,
    now: dt.datetime | None = None,
) -> int:
    """One minute of live traffic through report_create: normal, outage extra and a flooder."""
    problems = list(service.problem_types.all())
    created = 0
    for _ in range(int(rng.poisson(normal_rate))):
        country = str(rng.choice(COUNTRIES, p=COUNTRY_WEIGHTS))
        created += _live_report(service, problems[0], country, rng, now)
    for _ in range(int(rng.poisson(extra))):
        country = str(rng.choice(countries)) if countries else "US"
        created += _live_report(service, problems[0], country, rng, now)
    for _ in range(flood):  # one person, one address: stored, counted once
        report_create(
            service=service, problem=problems[-1], country="US", source=Report.Source.API,
            address="198.18.255.255", now=now,
        )  # fmt: skip
        created += 1
    return created


def _live_report(service, problem, country, rng, now) -> int:
    # A crowd comes from many networks and providers: addresses spread over the public IPv4
    # space (one simulated /16 would hit its block cap, as a real flood from one range does).
    address = str(ipaddress.IPv4Address(int(rng.integers(0x0B000000, 0xDF000000))))
    report_create(
        service=service,
        problem=problem,
        country=country,
        source=Report.Source.API,
        address=address,
        now=now,
    )
    return 1
