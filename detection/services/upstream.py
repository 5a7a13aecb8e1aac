"""Upstream outages: outages of services on one provider, grouped as the provider's.

The grouping itself is detection.core.upstream (pure); this module feeds it the outages that
started in the last LOOKBACK and keeps UpstreamOutage rows in step with what it finds. Once
grouped, an outage stays in its group: a later regrouping adds outages to a group, moves an
outage only to another group the same regrouping finds for it, and never ungroups one.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Q

from alerts.services import alerts_upstream_notify
from detection.core.upstream import DEFAULT_WINDOW, OutageOnset, UpstreamGroup, upstream_groups
from detection.models import Outage, UpstreamOutage
from reports.models import Provider
from reports.selectors import service_providers

# Outages that started this long ago still join a group: a provider outage can take an hour to
# reach the last of its dependents' detectors (small services need more reports).
LOOKBACK = dt.timedelta(hours=2)


def upstream_refresh(*, now: dt.datetime) -> list[UpstreamOutage]:
    """Regroup recent outages by provider and close groups whose outages have all ended.
    Returns the groups created by this call (the tick calls it when outages open, reopen
    or resolve)."""
    since = now - LOOKBACK
    outages = list(
        Outage.objects.filter(Q(started_at__gte=since) | Q(status=Outage.Status.ACTIVE))
        .select_related("service")
        .only("id", "started_at", "upstream_id", "service__slug")
    )
    created = []
    if len(outages) >= 2:
        onsets = [OutageOnset(o.id, o.service.slug, o.started_at) for o in outages]
        groups = upstream_groups(onsets, service_providers(), window=DEFAULT_WINDOW)
        providers = Provider.objects.in_bulk([g.provider for g in groups], field_name="slug")
        current = {o.id: o.upstream_id for o in outages}
        for group in groups:
            row, new = _row_for(group, providers[group.provider], current, now)
            members = [*group.outage_ids, *filter(None, [group.provider_outage_id])]
            Outage.objects.filter(id__in=members).update(upstream=row, updated_at=now)
            if new:
                created.append(row)
                # The provider's followers hear of it once (rows in this transaction).
                alerts_upstream_notify(upstream=row, now=now)
    _close_finished(since)
    return created


def _row_for(
    group: UpstreamGroup, provider: Provider, current: dict[int, int | None], now: dt.datetime
) -> tuple[UpstreamOutage, bool]:
    """The group's row: the provider's row one of its outages is already in, else a new one."""
    ids = {
        row_id
        for i in (*group.outage_ids, group.provider_outage_id)
        if i is not None and (row_id := current.get(i)) is not None
    }
    row = (
        UpstreamOutage.objects.filter(id__in=ids, provider=provider).order_by("started_at").first()
    )
    if row is None:
        row = UpstreamOutage.objects.create(
            provider=provider,
            started_at=group.since,
            detected_at=now,
            chance=group.chance,
            provider_outage_id=group.provider_outage_id,
        )
        return row, True
    row.started_at = min(row.started_at, group.since)
    row.chance = group.chance
    row.provider_outage_id = group.provider_outage_id or row.provider_outage_id
    row.resolved_at = None
    row.save(update_fields=["started_at", "chance", "provider_outage", "resolved_at", "updated_at"])
    return row, False


def _close_finished(since: dt.datetime) -> None:
    """A group ends when the last of its outages does (and reopens with any of them)."""
    rows = UpstreamOutage.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
    rows = rows.annotate(
        last_end=Max("outages__resolved_at"),
        active=Count("outages", filter=Q(outages__status=Outage.Status.ACTIVE)),
    )
    for row in rows:
        resolved_at = None if row.active else row.last_end
        if resolved_at != row.resolved_at:
            row.resolved_at = resolved_at
            row.save(update_fields=["resolved_at", "updated_at"])
