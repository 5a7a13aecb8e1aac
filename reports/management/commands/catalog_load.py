from pathlib import Path

from django.core.management.base import BaseCommand

from reports.catalog import CATALOG_PATH, catalog_read, catalog_sync


class Command(BaseCommand):
    help = "Create or update the service catalog from reports/data/catalog.json (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=CATALOG_PATH)

    def handle(self, *args, file: Path, **options):
        result = catalog_sync(data=catalog_read(file))
        self.stdout.write(
            f"Catalog: {result.categories} categories, {result.problem_types} problem types, "
            f"{result.services_created} services created, {result.services_updated} updated."
        )
