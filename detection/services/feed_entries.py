"""The date of each outage's feed entry, moved only when what the entry shows changes.

An open outage is saved every minute (its counts, its tally), and its feed entry was dated by
that save (updated_at): every poll of a feed found it changed while an outage ran, for hours,
though nothing a reader sees had (regression tester, forty-eighth session; RFC 4287 4.2.15,
atom:updated is for significant changes). The entry's fingerprint is kept with the outage,
and its date moves when the fingerprint does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from detection.models import Outage
from detection.presentation import feed_entry
from detection.selectors import outage_problems, outages_cold_marked
from detection.services.bulk import update
from reports.models import Service


def outages_entries_date(*, outages: Sequence[Outage], now: datetime) -> int:
    """Date (entry_updated_at = now) the entries of `outages` whose title, summary or status
    changed since they were last dated; returns how many. Called with every outage a tick
    touched, after they were saved."""
    if not outages:
        return 0
    # Their service names the entry: one query for all, not one each.
    services = Service.objects.in_bulk({outage.service_id for outage in outages})
    for outage in outages:
        outage.service = services[outage.service_id]
    changed = []
    for outage in outages_cold_marked(list(outages)):
        entry = feed_entry(outage, outage_problems(outage), cold=outage.cold_start)
        if entry.digest != outage.entry_digest:
            outage.entry_digest, outage.entry_updated_at = entry.digest, now
            changed.append(outage)
    columns: dict[str, Sequence[Any]] = {
        "id": [outage.pk for outage in changed],
        "entry_digest": [outage.entry_digest for outage in changed],
        "entry_updated_at": [now] * len(changed),
    }
    return update(Outage, columns, key="id")
