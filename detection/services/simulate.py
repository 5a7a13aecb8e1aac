"""Simulated traffic written into the database: history for demos, live reports for tests.

History rows are inserted in bulk as ordinary Report rows (each simulated reporter distinct
and counted), then bucketed and fitted by the same services production uses. Live traffic
goes through reports.services.report_create, dedup and all.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from detection.core import detect_series
from detection.models import Outage, OutageEvent
from detection.services.baselines import baselines_refit
from detection.services.buckets import buckets_aggregate
from detection.services.config import detector_config
from detection.services.series import series_history
from detection.services.timeutil import from_epoch_minute, minute_floor, to_epoch_minute
from detection.simulation import simulate_series
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


@dataclass(frozen=True)
class HistorySeeded:
    services: int
    reports: int
    outages: int


def history_seed(
    *, weeks: float, services: int, seed: int = 1, now: dt.datetime | None = None
) -> HistorySeeded:
    """Give the newest `services` popular services `weeks` of realistic report history."""
    end = to_epoch_minute(minute_floor(now or timezone.now()))
    start = end - round(weeks * 7 * 1440)
    chosen = _history_services(services)
    rng = np.random.default_rng(seed)
    total = 0
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
        total += _reports_insert(service, series.minutes, series.values, rng)
    buckets_aggregate(now=from_epoch_minute(end), since=from_epoch_minute(start))
    outages = sum(_outages_from_history(service, end) for service in chosen)
    baselines_refit(now=from_epoch_minute(end))
    return HistorySeeded(services=len(chosen), reports=total, outages=outages)


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
                    reporter_key=secrets.token_hex(32),
                    counted=True,
                )
            )
        if len(batch) >= 5000:
            Report.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    Report.objects.bulk_create(batch)
    return count + len(batch)


def _outages_from_history(service: Service, end: int) -> int:
    """Past outages as the live detector would have recorded them (same core, causal)."""
    config = detector_config()
    minutes, values = series_history(
        (service.id, ""), until=from_epoch_minute(end), days=config.baseline.history_days + 7
    )
    if not len(minutes):
        return 0
    result = detect_series(minutes, values, 1, config)
    created = 0
    for found in result.outages:
        if found.ended_at < 0 or found.onset < minutes[0] + 3 * 1440:
            continue  # still open at the end, or judged on too little history
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
                total_reports=int(values[i:j].sum()),
                explanation=(
                    f"{int(values[i:j].sum())} counted reports from "
                    f"{from_epoch_minute(found.onset):%H:%M} to "
                    f"{from_epoch_minute(found.ended_at):%H:%M} UTC; peak {values[peak]:.0f} a "
                    f"minute vs {result.expected[peak]:.1f} expected (simulated history)."
                ),
            )
            for kind, at, message in (
                (OutageEvent.Kind.OPENED, outage.detected_at, "Problems detected."),
                (OutageEvent.Kind.RESOLVED, outage.resolved_at, "Back to normal."),
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
