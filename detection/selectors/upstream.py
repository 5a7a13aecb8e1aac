"""Upstream outages as the pages and the API show them: a provider's outage and the outages of
its dependents that it groups. Apart from the outage reads: its own table, which alerts reads too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from detection.models import Outage, UpstreamOutage


@dataclass(frozen=True)
class UpstreamMember:
    outage_id: int
    service: str  # slug
    service_name: str
    started_at: datetime
    is_provider: bool  # the provider's own outage (it is in the catalog too)


@dataclass(frozen=True)
class UpstreamView:
    """One upstream outage with the outages it groups, earliest first."""

    id: int
    provider: str  # slug
    provider_name: str
    started_at: datetime
    resolved_at: datetime | None
    members: tuple[UpstreamMember, ...]

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None

    @property
    def affected(self) -> tuple[UpstreamMember, ...]:
        """The dependents: every member but the provider's own outage."""
        return tuple(m for m in self.members if not m.is_provider)


def upstream_views(*, ids: Iterable[int | None]) -> dict[int, UpstreamView]:
    """The upstream outages with these ids, in two queries whatever their number (a page of
    outages asks for all its groups at once). A None (an outage in no group: its
    `upstream_id` as it is) is skipped."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = UpstreamOutage.objects.filter(pk__in=wanted).select_related("provider")
    return _upstream_views(list(rows))


def outages_upstream_views(outages: Iterable[Outage]) -> dict[int, UpstreamView]:
    """The upstream groups of a list's outages, by id, read once for the whole list: without
    them each grouped outage's answer reads its group and the group's members with two
    queries of its own, and a provider's outage puts dozens of its services in one list."""
    return upstream_views(ids={outage.upstream_id for outage in outages})


def upstream_active() -> list[UpstreamView]:
    """Upstream outages still going on, the newest first (the home page's section)."""
    rows = UpstreamOutage.objects.filter(resolved_at__isnull=True).select_related("provider")
    return sorted(
        (v for v in _upstream_views(list(rows)).values() if v.affected),
        key=lambda v: (v.started_at, v.id),
        reverse=True,
    )


def _upstream_views(rows: list[UpstreamOutage]) -> dict[int, UpstreamView]:
    members: dict[int, list[UpstreamMember]] = {row.pk: [] for row in rows}
    provider_service = {row.pk: row.provider.service_id for row in rows}
    outages = (
        Outage.objects.filter(upstream_id__in=members.keys(), service__is_active=True)
        .order_by("started_at", "id")
        .values_list(
            "id", "upstream_id", "service_id", "service__slug", "service__name", "started_at"
        )
    )
    for pk, upstream, service_id, slug, name, started in outages:
        is_provider = service_id is not None and service_id == provider_service[upstream]
        members[upstream].append(UpstreamMember(pk, slug, name, started, is_provider))
    return {
        row.pk: UpstreamView(
            id=row.pk,
            provider=row.provider.slug,
            provider_name=row.provider.name,
            started_at=row.started_at,
            resolved_at=row.resolved_at,
            members=tuple(members[row.pk]),
        )
        for row in rows
    }
