"""Loading the service catalog from reports/data/catalog.json.

Used by the data migration (with historical models) and by the
``catalog_load`` command (with current ones), so both stay one code path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import transaction

from reports.catalog_renames import (
    former_slug_model,
    former_slugs_record,
    renames_read,
    service_rename,
)
from reports.validation import slug_clean

CATALOG_PATH = Path(__file__).resolve().parent / "data" / "catalog.json"


@dataclass(frozen=True)
class CatalogSyncResult:
    categories: int
    problem_types: int
    services_created: int
    services_updated: int
    # (former slug, slug) of each service renamed in place by this load.
    services_renamed: tuple[tuple[str, str], ...] = ()


def catalog_read(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def catalog_sync(*, data: dict[str, Any], apps: Apps = global_apps) -> CatalogSyncResult:
    """Create or update categories, problem types and services from ``data``.

    Idempotent, and all or nothing: a file refused half-way (reports.catalog_renames.
    CatalogConflict, a missing key) changes nothing. Services missing from the file are left
    alone, so services added in the admin survive a reload. An entry's ``renamed_from``
    renames the row of a former slug in place (reports.catalog_renames).
    """
    with transaction.atomic():
        return _catalog_write(data=data, apps=apps)


def _catalog_write(*, data: dict[str, Any], apps: Apps) -> CatalogSyncResult:
    Category = apps.get_model("reports", "Category")
    ProblemType = apps.get_model("reports", "ProblemType")
    Service = apps.get_model("reports", "Service")

    categories = {}
    for position, row in enumerate(data["categories"]):
        categories[row["slug"]], _ = Category.objects.update_or_create(
            slug=slug_clean(row["slug"]), defaults={"name": row["name"], "position": position}
        )
    problems = {}
    for row in data["problem_types"]:
        problems[row["slug"]], _ = ProblemType.objects.update_or_create(
            slug=slug_clean(row["slug"]),
            defaults={"name": row["name"], "description": row.get("description", "")},
        )
    # Duplicates and cycles are refused before any service is written.
    renames = renames_read(data["services"])
    created = updated = 0
    renamed = []
    for row in data["services"]:
        slug = slug_clean(row["slug"])
        if old := service_rename(slug=slug, former=renames[slug], entries=renames, apps=apps):
            renamed.append((old, slug))
        service, was_created = Service.objects.update_or_create(
            slug=slug,
            defaults={
                "name": row["name"],
                "category": categories[row["category"]],
                "website": row["website"],
                "status_page": row.get("status_page") or "",
            },
        )
        service.problem_types.set([problems[problem] for problem in row["problems"]])
        former_slugs_record(service=service, former=renames[slug], apps=apps)
        created += was_created
        updated += not was_created
    providers_sync(data=data, apps=apps)
    return CatalogSyncResult(len(categories), len(problems), created, updated, tuple(renamed))


def providers_sync(*, data: dict[str, Any], apps: Apps = global_apps) -> int:
    """Create or update the providers and who depends on them; the number of providers.

    Skipped where the Provider model does not exist yet (the catalog's first data migration
    runs before it; migration 0005 syncs them)."""
    try:
        Provider = apps.get_model("reports", "Provider")
    except LookupError:
        return 0
    Service = apps.get_model("reports", "Service")
    services = {s.slug: s for s in Service.objects.all()}
    # A provider's `service` under a former slug still finds the renamed service (not None,
    # which would lose the provider's page and its outage as a signal upstream).
    known = services | _by_former_slug(apps, exclude=services)
    providers = {}
    for row in data.get("providers", []):
        providers[row["slug"]], _ = Provider.objects.update_or_create(
            slug=slug_clean(row["slug"]),
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "service": known.get(row.get("service", "")),
            },
        )
    for row in data["services"]:
        if "providers" in row and row["slug"] in services:
            services[row["slug"]].providers.set([providers[p] for p in row["providers"]])
    return len(providers)


def _by_former_slug(apps: Apps, *, exclude: dict[str, Any]) -> dict[str, Any]:
    """Former slug -> the service renamed from it, for slugs no service has now."""
    FormerSlug = former_slug_model(apps)
    if FormerSlug is None:
        return {}
    rows = FormerSlug.objects.exclude(slug__in=exclude).select_related("service")
    return {row.slug: row.service for row in rows}


def catalog_slugs(path: Path = CATALOG_PATH) -> frozenset[str]:
    """The slugs of the services the catalog file lists (what a load owns)."""
    return frozenset(slug_clean(row["slug"]) for row in catalog_read(path)["services"])
