import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reports.catalog import CATALOG_PATH, CatalogEntryInvalid, catalog_read, catalog_sync
from reports.catalog_renames import CatalogConflict


class Command(BaseCommand):
    help = "Create or update the service catalog from reports/data/catalog.json (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=CATALOG_PATH,
            help="the catalog file (default: reports/data/catalog.json; format: docs/catalog.md)",
        )

    def handle(self, *args, file: Path, **options):
        try:
            data = catalog_read(file)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            # All of the file or none of it: a bad entry late in the file must not leave the
            # categories before it half-loaded.
            with transaction.atomic():
                result = catalog_sync(data=data)
        except (CatalogConflict, CatalogEntryInvalid) as exc:
            raise CommandError(f"Cannot load {file}: {exc}") from None
        except KeyError as exc:  # the entries' own say which entry (CatalogEntryInvalid)
            raise CommandError(f"Cannot load {file}: the file lacks the key {exc}") from None
        except ValidationError as exc:
            raise CommandError(f"Cannot load {file}: {' '.join(exc.messages)}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise CommandError(f"Cannot load {file}: not a catalog ({exc})") from None
        self.stdout.write(
            f"Catalog: {result.categories} categories, {result.problem_types} problem types, "
            f"{result.services_created} services created, {result.services_updated} updated, "
            f"{result.services_unchanged} unchanged."
        )
        for old, new in result.services_renamed:
            self.stdout.write(
                f"Renamed {old} -> {new}: its history, followers and old addresses follow."
            )
