"""Builders for rows the detector writes (buckets, baselines, statuses, outages), used by the
status API, selector and page tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from detection.core import Baseline, fit_baseline, prior_baseline
from detection.models import (
    Bucket,
    HourlyBucket,
    Outage,
    OutageEvent,
    ProblemSite,
    SeriesBaseline,
    SeriesState,
    ServiceStatus,
)
from detection.services.config import listing_sites
from reports.models import ProblemType, Service


def minute_now() -> datetime:
    return timezone.now().replace(second=0, microsecond=0)


def problem_sites_admit(service: Service, slug: str, last_seen: datetime) -> None:
    """As many sites as a problem needs to be in the 24-hour breakdown, the latest at
    `last_seen` (buckets written directly come with no reports, whose sites the aggregation
    records)."""
    problem = ProblemType.objects.get(slug=slug)
    ProblemSite.objects.bulk_create(
        ProblemSite(service=service, problem=problem, site_key=f"site-{k}", last_seen=last_seen)
        for k in range(listing_sites())
    )


def buckets_make(
    service: Service,
    counts: dict[datetime, int],
    *,
    country: str = "",
    problems: dict[str, float] | None = None,
) -> None:
    """One Bucket per minute; `problems` are shares per problem slug of each minute's count."""
    shares = problems or {"login": 1.0}
    Bucket.objects.bulk_create(
        Bucket(
            service=service,
            country=country,
            minute=minute,
            counted=n,
            reports=n,
            reporters=n,
            problems={slug: round(n * share) for slug, share in shares.items()},
        )
        for minute, n in counts.items()
    )


def hourly_make(service: Service, hour: datetime, counted: int, *, country: str = "") -> None:
    HourlyBucket.objects.create(
        service=service, country=country, hour=hour, counted=counted, reports=counted
    )


def flat_baseline(rate: float = 2.0, *, dispersion: float = 0.1) -> Baseline:
    """`rate` expected reports per minute at every time of the week, no growth."""
    return Baseline(
        profile=np.full(672, rate),
        dispersion=dispersion,
        level_dispersion=dispersion / 2,
        fitted_at=int(timezone.now().timestamp()) // 60,
        history_minutes=14 * 1440,
        method="mean",
    )


def fitted_baseline(days: int = 3, rate: float = 3.0, seed: int = 7) -> Baseline:
    """A baseline fitted on synthetic Poisson minutes, as the detector would store it."""
    end = int(timezone.now().timestamp()) // 60
    minutes = np.arange(end - days * 1440, end, dtype=np.int64)
    values = np.random.default_rng(seed).poisson(rate, size=len(minutes))
    return fit_baseline(minutes, values, fitted_at=end)


def cold_baseline() -> Baseline:
    return prior_baseline(int(timezone.now().timestamp()) // 60)


def baseline_store(service: Service, baseline: Baseline, *, country: str = "") -> SeriesBaseline:
    return SeriesBaseline.objects.create(
        service=service,
        country=country,
        params=baseline.to_dict(),
        method=baseline.method,
        fitted_at=timezone.now(),
    )


def outage_make(
    service: Service,
    *,
    started_at: datetime | None = None,
    resolved_at: datetime | None = None,
    countries: tuple[str, ...] = ("DE", "FR"),
    events: bool = True,
    **fields,
) -> Outage:
    started_at = started_at or minute_now() - timedelta(minutes=30)
    outage = Outage.objects.create(
        service=service,
        status=Outage.Status.RESOLVED if resolved_at else Outage.Status.ACTIVE,
        started_at=started_at,
        detected_at=started_at + timedelta(minutes=2),
        resolved_at=resolved_at,
        countries=list(countries),
        top_problems=[{"problem": "login", "count": 120}, {"problem": "app", "count": 30}],
        peak_observed=fields.pop("peak_observed", 48.0),
        peak_expected=fields.pop("peak_expected", 2.0),
        peak_at=started_at + timedelta(minutes=10),
        score=fields.pop("score", 0.998),
        rule=fields.pop("rule", "excess"),
        total_reports=fields.pop("total_reports", 150),
        explanation=fields.pop("explanation", "48 reports in one minute where 2.0 are expected."),
        **fields,
    )
    if events:
        OutageEvent.objects.create(
            outage=outage,
            at=outage.detected_at,
            kind=OutageEvent.Kind.OPENED,
            observed=30,
            expected=2,
            message="30 reports in one minute, 2.0 expected.",
        )
        OutageEvent.objects.create(
            outage=outage,
            at=outage.detected_at + timedelta(minutes=3),
            kind=OutageEvent.Kind.COUNTRY,
            country="FR",
            observed=9,
            expected=0.4,
            message="France affected too.",
        )
        if resolved_at:
            OutageEvent.objects.create(
                outage=outage,
                at=resolved_at,
                kind=OutageEvent.Kind.RESOLVED,
                message="Reports back to normal.",
            )
    return outage


def status_make(
    service: Service,
    level: int,
    *,
    outage: Outage | None = None,
    since: datetime | None = None,
    countries: tuple[str, ...] = (),
    expected: float = 2.0,
    observed: float = 40.0,
    score: float = 0.99,
) -> ServiceStatus:
    status, _ = ServiceStatus.objects.update_or_create(
        service=service,
        defaults={
            "level": level,
            "since": since or minute_now() - timedelta(minutes=20),
            "observed": observed,
            "expected": expected,
            "score": score,
            "rule": "excess" if level else "",
            "countries": list(countries),
            "outage": outage,
            "updated_at": timezone.now(),
        },
    )
    return status


def country_state_make(service: Service, country: str, level: int) -> SeriesState:
    return SeriesState.objects.create(
        service=service, country=country, minute=minute_now(), level=level
    )


def catalog_outage(slug: str, start: datetime, *, resolved: datetime | None = None) -> Outage:
    """An outage of a catalog service (by slug), detected two minutes after its start."""
    return Outage.objects.create(
        service=Service.objects.get(slug=slug),
        started_at=start,
        detected_at=start + timedelta(minutes=2),
        status="resolved" if resolved is not None else "active",
        resolved_at=resolved,
    )
