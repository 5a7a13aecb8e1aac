"""Renamed services in the catalog file: an entry's ``renamed_from`` lists its former slugs.

Services are matched by slug, so a slug edited in the file alone made a second service: the
old row kept every report, outage, subscription and detector state, and the new one started
cold. With ``renamed_from`` the load renames the old row in place (same primary key, so all
of that follows) and keeps each former slug as a FormerSlug row, which the old addresses and
reports naming the old slug are resolved through (reports.cache, reports.renamed).

A file that cannot mean one thing is refused before anything is written (CatalogConflict):
a slug claimed by two entries, a rename cycle, or a rename onto a service that has a history
of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from reports.models import FormerSlug, Service
from reports.validation import slug_clean

# What makes a service's row worth keeping: people's reports (the source of truth; buckets,
# baselines and detector state are rebuilt from them), the outages found in them, and the
# people who follow it. A row without any of these can give way to the row that has them.
HISTORY = ("reports", "outages", "subscriptions")


class CatalogConflict(Exception):
    """The file contradicts itself or the database; the message names the entry."""


def renames_read(services: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each entry's former slugs (cleaned), by its slug; refuses a contradictory file."""
    entries: dict[str, dict[str, Any]] = {}
    for row in services:
        slug = slug_clean(row["slug"])
        if slug in entries:
            raise CatalogConflict(f"two entries have the slug '{slug}': a slug names one service")
        entries[slug] = row
    renames = {slug: _former_read(slug, row) for slug, row in entries.items()}
    owners: dict[str, str] = {}
    for slug, former in renames.items():
        for old in former:
            if old == slug:
                raise CatalogConflict(f"entry '{slug}' lists its own slug in renamed_from")
            if old in entries:
                raise CatalogConflict(_claimed_by_entry(slug, old, renames))
            if old in owners:
                raise CatalogConflict(
                    f"'{old}' is in renamed_from of both '{owners[old]}' and '{slug}': a former "
                    "slug can lead to one service only"
                )
            owners[old] = slug
    return renames


def _former_read(slug: str, row: dict[str, Any]) -> list[str]:
    former = row.get("renamed_from", [])
    if not isinstance(former, list) or not all(isinstance(old, str) for old in former):
        raise CatalogConflict(f"entry '{slug}': renamed_from must be a list of slugs")
    try:
        # dict.fromkeys: a slug listed twice is one rename, in the file's order.
        return list(dict.fromkeys(slug_clean(old) for old in former))
    except ValidationError as exc:
        raise CatalogConflict(f"entry '{slug}', renamed_from: {' '.join(exc.messages)}") from None


def _claimed_by_entry(slug: str, old: str, renames: dict[str, list[str]]) -> str:
    cycle = _cycle(slug, renames)
    if cycle:
        return f"entry '{slug}': a rename cycle ({' -> '.join(cycle)}): which slug is current?"
    return (
        f"entry '{slug}' says it was renamed from '{old}', but '{old}' is an entry of its own: "
        f"take '{old}' out of the file or out of renamed_from"
    )


def _cycle(start: str, renames: dict[str, list[str]]) -> list[str]:
    """The renames leading from `start` back to it, oldest slug first; [] when none do."""
    path, seen = [start], {start}
    while True:
        older = [old for old in renames[path[-1]] if old in renames]
        if not older:
            return []
        if older[0] == start:
            return [start, *reversed(path)]
        if older[0] in seen:
            return []  # a cycle that does not pass through start: its own entries report it
        path.append(older[0])
        seen.add(older[0])


def service_rename(*, slug: str, former: list[str], entries: Iterable[str]) -> str:
    """Before the entry `slug` is written: give it the row that holds its history.

    A row under a former slug is renamed to `slug` in place. Where rows exist under both (a
    load before ``renamed_from`` was added made the new one), the one with a history stays and
    the empty one is deleted; two with histories are refused. Returns the slug renamed from,
    or "".
    """
    found = {s.slug: s for s in Service.objects.filter(slug__in=[slug, *former])}
    rows = [found[s] for s in [slug, *former] if s in found]
    _former_slugs_check(slug=slug, former=former, entries=set(entries), rows=rows)
    if not rows:
        return ""
    kept = _with_history(slug, rows)
    for row in rows:
        if row.pk != kept.pk:
            row.delete()
    if kept.slug == slug:
        return ""
    renamed_from, kept.slug = kept.slug, slug
    # save(): its post_save tells every process's in-memory catalog (reports.signals).
    kept.save(update_fields=["slug"])
    return renamed_from


def _with_history(slug: str, rows: list[Service]) -> Service:
    if len(rows) == 1:
        return rows[0]
    histories = [(row, _history(row)) for row in rows]
    kept = [(row, history) for row, history in histories if history]
    if len(kept) > 1:
        described = " and ".join(f"'{row.slug}' ({history})" for row, history in kept)
        raise CatalogConflict(
            f"entry '{slug}' says it was renamed from "
            f"{', '.join(repr(row.slug) for row in rows if row.slug != slug)}, but {described} "
            "are separate services, each with its own history: loading would have to merge "
            "or drop one. Take the slug out of renamed_from to keep both apart"
        )
    # None has a history: keep the row that already has the slug, else the first found.
    return kept[0][0] if kept else rows[0]


def _history(service: Service) -> str:
    """What `service` has of HISTORY, e.g. "12 reports, 1 subscriptions"; "" for nothing."""
    counts = [(name, getattr(service, name).count()) for name in HISTORY]
    return ", ".join(f"{count} {name}" for name, count in counts if count)


def _former_slugs_check(
    *, slug: str, former: list[str], entries: set[str], rows: list[Service]
) -> None:
    """Refuse a rename that contradicts the renames recorded by earlier loads."""
    ours = {row.pk for row in rows}
    for record in FormerSlug.objects.filter(slug__in=[slug, *former]).select_related("service"):
        owner = record.service
        if owner.pk in ours:
            continue  # the same service, renamed again (or back)
        if record.slug == slug:
            if owner.slug in entries:
                continue  # an entry of its own: `slug` is reused for a new service
            raise CatalogConflict(
                f"entry '{slug}': '{slug}' is the former slug of '{owner.slug}' (renamed by an "
                f'earlier load). To rename it back, add "renamed_from": ["{owner.slug}"]; '
                "to make a new service, delete the former slug in the admin first"
            )
        raise CatalogConflict(
            f"entry '{slug}' says it was renamed from '{record.slug}', but an earlier load "
            f"renamed '{record.slug}' to '{owner.slug}'"
        )


def former_slugs_record(*, service: Service, former: list[str]) -> bool:
    """Keep `service`'s former slugs answering; its own slug is a former slug of no one.
    Whether that changed a row (a load of the same file again writes none)."""
    # Reused for a new service, or renamed back: the current slug wins over a former one.
    deleted, _ = FormerSlug.objects.filter(slug=service.slug).delete()
    changed = bool(deleted)
    for old in former:
        record, created = FormerSlug.objects.get_or_create(slug=old, defaults={"service": service})
        moved = record.service_id != service.pk
        if moved:
            record.service = service
            record.save(update_fields=["service"])
        changed |= created or moved
    return changed
