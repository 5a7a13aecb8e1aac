"""Words shown to people about an outage event, for every channel (emails, Slack, Discord,
the webhook's human-readable fields): built here once, from the rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pycountry
from django.conf import settings

from alerts.channels.base import Notice
from alerts.models import AlertDelivery
from detection.models import Outage
from reports.models import ProblemType

Kind = AlertDelivery.Kind


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def url_shown(url: str) -> str:
    """A webhook URL as shown to people: its path often holds the receiver's own secret
    (Slack and Discord put their token there), so only the origin and a hint of the rest."""
    parts = urlsplit(url)
    if not parts.netloc:
        return ""
    tail = "/…" if parts.path.strip("/") else "/"
    return f"{parts.scheme}://{parts.netloc}{tail}"


def country_names(codes: list[str]) -> list[str]:
    names = []
    for code in codes:
        country = pycountry.countries.get(alpha_2=code)
        names.append(getattr(country, "common_name", None) or getattr(country, "name", code))
    return names


def problems(outage: Outage) -> list[dict[str, Any]]:
    """The outage's top problems with their names: [{"slug", "name", "count"}]."""
    rows = [p for p in (outage.top_problems or [])[:5] if isinstance(p, dict)]
    slugs = [p.get("problem", "") for p in rows]
    names = dict(ProblemType.objects.filter(slug__in=slugs).values_list("slug", "name"))
    return [
        {
            "slug": p.get("problem", ""),
            "name": names.get(p.get("problem"), p.get("problem")),
            "count": p.get("count", 0),
        }
        for p in rows
    ]


def duration(start: datetime, end: datetime) -> str:
    minutes = max(int((end - start) / timedelta(minutes=1)), 1)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def title(*, kind: str, outage: Outage, names: list[str]) -> str:
    """One line saying what happened: the email subject, the chat message's headline."""
    service = outage.service.name
    since = f"{outage.started_at:%H:%M} UTC"
    where = f" in {', '.join(names[:3])}" if names else ""
    if kind == Kind.RESOLVED:
        return f"Resolved: {service} is working again (problems since {since})"
    if kind == Kind.REOPENED:
        return f"{service}: problems again{where} (outage since {since})"
    return f"{service}: problems detected{where} since {since}"


def summary(*, kind: str, outage: Outage, now: datetime) -> str:
    observed, expected = round(outage.peak_observed), round(outage.peak_expected, 1)
    peak = f"Peak {observed} reports a minute, about {expected} expected."
    if kind == Kind.RESOLVED:
        end = outage.resolved_at or now
        return (
            f"The problems that started at {outage.started_at:%H:%M} UTC ended at "
            f"{end:%H:%M} UTC, after {duration(outage.started_at, end)}. {peak}"
        )
    if kind == Kind.REOPENED:
        return (
            f"The problems reported since {outage.started_at:%H:%M} UTC are back within "
            f"{settings.OUTAGE_REOPEN_MINUTES} minutes of ending: the same outage. {peak}"
        )
    return f"Problems since {outage.started_at:%H:%M} UTC. {peak}"


def notice_build(
    *, delivery: AlertDelivery, now: datetime, earlier: AlertDelivery | None = None
) -> Notice:
    outage = delivery.outage
    codes = list(outage.countries or [])
    names = country_names(codes)
    return Notice(
        delivery_id=delivery.pk,
        event=delivery.kind,
        subscription=delivery.subscription,
        outage=outage,
        episode=delivery.episode,
        title=title(kind=delivery.kind, outage=outage, names=names),
        summary=summary(kind=delivery.kind, outage=outage, now=now),
        countries=codes,
        country_names=names,
        observed=float(outage.peak_observed),
        expected=float(outage.peak_expected),
        problems=problems(outage),
        outage_url=absolute(f"/outages/{outage.pk}/"),
        service_url=absolute(outage.service.get_absolute_url()),
        at=now,
        delivery=delivery,
        earlier=earlier,
    )
