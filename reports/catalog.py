"""Loading the service catalog from reports/data/catalog.json.

Used by the ``catalog_load`` command. The data migrations 0002 and 0005 keep their own copy of
this code as it was when they were written (a migration does the same thing forever), so this
one works on today's models only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.db.models import Field, Model

from outagewatch.quoting import quoted
from reports.catalog_renames import former_slugs_record, renames_read, service_rename
from reports.models import Category, FormerSlug, ProblemType, Provider, Service
from reports.validation import slug_clean

CATALOG_PATH = Path(__file__).resolve().parent / "data" / "catalog.json"


# What a load did to one row: saved only where a stored field differs from the file.
Change = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class CatalogSyncResult:
    categories: int
    problem_types: int
    services_created: int
    # Services of the file whose stored fields, problem types, providers, slug or former
    # slugs this load changed; the others in the file were already as it says.
    services_updated: int
    services_unchanged: int = 0
    # (former slug, slug) of each service renamed in place by this load.
    services_renamed: tuple[tuple[str, str], ...] = ()


class CatalogEntryInvalid(ValueError):
    """An entry of the file lacks a key or names what the file does not define; the message
    names the entry."""


@contextmanager
def _entry(kind: str, row: Any, index: int) -> Iterator[None]:
    """Turns a missing key of an entry into a message that says which entry (of hundreds)."""
    try:
        yield
    except KeyError as exc:
        slug = row.get("slug") if isinstance(row, dict) else None
        label = f"{kind} {slug!r}" if isinstance(slug, str) else f"{kind} number {index + 1}"
        raise CatalogEntryInvalid(f"{label} lacks the key {exc}.") from None


_SECTIONS = {"category": "categories", "problem type": "problem_types", "provider": "providers"}
# What the pages link to and the API hands on: a javascript: website would run in a reader's
# browser (the official-status loader refuses the same, detection.official.services).
_WEB_URL = URLValidator(schemes=["http", "https"])


def _named(kind: str, defined: Mapping[str, Model], slug: Any, *, service: str) -> Model:
    if not isinstance(slug, str) or slug not in defined:
        raise CatalogEntryInvalid(
            f"service {service!r} names the {kind} {quoted(slug)}, which the file's "
            f"{_SECTIONS[kind]} do not define."
        )
    return defined[slug]


def catalog_read(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def catalog_sync(*, data: dict[str, Any]) -> CatalogSyncResult:
    """Create or update categories, problem types and services from ``data``.

    Idempotent, and all or nothing: a file refused half-way (reports.catalog_renames.
    CatalogConflict, a missing key) changes nothing. Services missing from the file are left
    alone, so services added in the admin survive a reload. An entry's ``renamed_from``
    renames the row of a former slug in place (reports.catalog_renames). Rows already as the
    file says are not written, so loading the same file again announces no catalog edit
    (reports.signals) and every process keeps its copy.
    """
    if not isinstance(data, dict):
        raise CatalogEntryInvalid(
            "the file is not a catalog: a JSON object with categories, problem_types and "
            "services is expected."
        )
    with transaction.atomic():
        return _catalog_write(data=data)


def _catalog_write(*, data: dict[str, Any]) -> CatalogSyncResult:
    categories = {}
    for position, row in enumerate(data["categories"]):
        with _entry("category", row, position):
            categories[row["slug"]], _ = _upsert(
                Category,
                slug=slug_clean(row["slug"]),
                fields={"name": row["name"], "position": position},
                entry="category",
            )
    problems = {}
    for index, row in enumerate(data["problem_types"]):
        with _entry("problem type", row, index):
            problems[row["slug"]], _ = _upsert(
                ProblemType,
                slug=slug_clean(row["slug"]),
                fields={"name": row["name"], "description": row.get("description", "")},
                entry="problem type",
            )
    for index, row in enumerate(data["services"]):
        with _entry("service", row, index):
            row["slug"]  # renames_read below reads every slug first
    # Duplicates and cycles are refused before any service is written.
    renames = renames_read(data["services"])
    _services_lock(renames)
    changes: dict[str, Change] = {}
    renamed = []
    for index, row in enumerate(data["services"]):
        with _entry("service", row, index):
            slug = slug_clean(row["slug"])
            if old := service_rename(slug=slug, former=renames[slug], entries=renames):
                renamed.append((old, slug))
            changes[slug] = _service_write(
                row, former=renames[slug], categories=categories, problems=problems
            )
        if old and changes[slug] == "unchanged":
            changes[slug] = "updated"  # the rename was the change
    for slug in providers_sync(data=data):
        if changes[slug] == "unchanged":
            changes[slug] = "updated"
    tally = Counter(changes.values())
    return CatalogSyncResult(
        len(categories),
        len(problems),
        tally["created"],
        tally["updated"],
        tally["unchanged"],
        tuple(renamed),
    )


def _services_lock(renames: dict[str, list[str]]) -> None:
    """Lock the rows of every service the file names (by its slug or a former one) before
    writing any, all at once in pk order. One by one in the file's order, a load and the
    tick (which locks the services it has news of in pk order: alerts.services.
    services_alerts_lock) could each hold a row the other waited for: a deadlock, and one of
    them rolled back. FOR NO KEY UPDATE, the lock a write of the row's other fields takes
    anyway: reports of these services (their foreign key's KEY SHARE lock) go on.

    Then the rows of a rename (its slug, a key, changes; an empty twin is deleted) FOR
    UPDATE, also in pk order, which waits for the KEY SHARE locks of rows referencing them.
    The tick takes those at its commit (Django's foreign keys are deferred), in pk order, for
    every service it wrote new states of: upgraded one by one in the file's order, the load
    had the higher of two, the tick the lower, and each waited for the other's (a deadlock).
    Not FOR UPDATE in the first pass: holding a renamed row so while it waits for a service
    the tick has news of, the load would hold up the tick's commit, which that waits for."""
    slugs = {slug for entry, former in renames.items() for slug in (entry, *former)}
    locked = Service.objects.select_for_update(no_key=True).filter(slug__in=slugs)
    list(locked.order_by("pk").values_list("pk", flat=True))
    keyed = {slug for entry, former in renames.items() if former for slug in (entry, *former)}
    if keyed:
        renamed = Service.objects.select_for_update().filter(slug__in=keyed)
        list(renamed.order_by("pk").values_list("pk", flat=True))


def _service_write(
    row: dict[str, Any],
    *,
    former: list[str],
    categories: Mapping[str, Model],
    problems: Mapping[str, Model],
) -> Change:
    """Make the service of the entry `row` what it says; what that changed."""
    slug = slug_clean(row["slug"])
    service, change = _upsert(
        Service,
        slug=slug,
        fields={
            "name": row["name"],
            "category": _named("category", categories, row["category"], service=slug),
            "website": row["website"],
            "status_page": row.get("status_page") or "",
        },
        entry="service",
    )
    types = [_named("problem type", problems, p, service=slug) for p in row["problems"]]
    edited = _related_set(service.problem_types, types)
    edited |= former_slugs_record(service=service, former=former)
    return "updated" if change == "unchanged" and edited else change


def providers_sync(*, data: dict[str, Any]) -> frozenset[str]:
    """Create or update the providers and who depends on them; the slugs of the services
    whose providers this changed."""
    services = {s.slug: s for s in Service.objects.prefetch_related("providers")}
    # A provider's `service` under a former slug still finds the renamed service (not None,
    # which would lose the provider's page and its outage as a signal upstream).
    known = services | _by_former_slug(exclude=services)
    providers = {}
    for index, row in enumerate(data.get("providers", [])):
        with _entry("provider", row, index):
            providers[row["slug"]], _ = _upsert(
                Provider,
                slug=slug_clean(row["slug"]),
                fields={
                    "name": row["name"],
                    "kind": row["kind"],
                    "service": known.get(row.get("service", "")),
                },
                entry="provider",
            )
    changed = set()
    for row in data["services"]:
        if "providers" in row and row["slug"] in services:
            slug = row["slug"]
            chosen = [_named("provider", providers, p, service=slug) for p in row["providers"]]
            if _related_set(services[slug].providers, chosen):
                changed.add(slug)
    return frozenset(changed)


_M = TypeVar("_M", bound=Model)


def _upsert(model: type[_M], *, slug: str, fields: dict[str, Any], entry: str) -> tuple[_M, Change]:
    """The row of `slug` made to hold `fields`, saved only where one differs: a load of the
    same file again writes nothing. Each value is checked first as the admin's form checks
    it; `entry` ("service") names the entry in the message."""
    for name, value in fields.items():
        _checked(model._meta.get_field(name), value, label=f"{entry} {slug!r}")
    # NO KEY: its slug, the row's key, is what finds it, never what changes (a rename is
    # reports.catalog_renames); reports, whose foreign key takes KEY SHARE, go on meanwhile.
    # _default_manager: the catalog's models' `objects`, which Model itself does not declare.
    row = model._default_manager.select_for_update(no_key=True).filter(slug=slug).first()
    if row is None:
        return model._default_manager.create(slug=slug, **fields), "created"
    changed = [name for name, value in fields.items() if _differs(row, name, value)]
    if not changed:
        return row, "unchanged"
    for name in changed:
        setattr(row, name, fields[name])
    row.save(update_fields=changed)
    return row, "updated"


def _checked(field: Any, value: Any, *, label: str) -> None:
    """Refuse a value the column would refuse or truncate, or that the admin would: text that
    is not text (a number stored as "123"), too long (a database error with a traceback), a
    kind not among its choices, a link that is not http(s)."""
    if field.is_relation:
        return
    problem = ""
    if isinstance(field, models.CharField) and not isinstance(value, str):
        problem = "must be text"
    else:
        try:
            field.clean(value, None)
            if isinstance(field, models.URLField) and value:
                _WEB_URL(value)
        except ValidationError as exc:
            problem = " ".join(exc.messages).rstrip(".")
    if problem:
        raise CatalogEntryInvalid(f"{label}: {field.name} {quoted(value)}: {problem}.")


def _differs(row: Model, name: str, value: Any) -> bool:
    field = row._meta.get_field(name)
    # By key: reading the related row would cost a query per row.
    if isinstance(field, Field) and field.many_to_one:
        return getattr(row, field.attname) != (None if value is None else value.pk)
    return getattr(row, name) != value


def _related_set(manager: Any, rows: list[Model]) -> bool:
    """Make a many-to-many `manager` hold exactly `rows`; whether it did not already."""
    if {row.pk for row in manager.all()} == {row.pk for row in rows}:
        return False
    manager.set(rows)
    return True


def _by_former_slug(*, exclude: dict[str, Service]) -> dict[str, Service]:
    """Former slug -> the service renamed from it, for slugs no service has now."""
    rows = FormerSlug.objects.exclude(slug__in=exclude).select_related("service")
    return {row.slug: row.service for row in rows}


def catalog_slugs(path: Path = CATALOG_PATH) -> frozenset[str]:
    """The slugs of the services the catalog file lists (what a load owns)."""
    return frozenset(slug_clean(row["slug"]) for row in catalog_read(path)["services"])
