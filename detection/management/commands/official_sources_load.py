"""Load the official status sources (detection/official/sources.json) for the catalog."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.official.services import SOURCES_FILE, status_sources_load


class Command(BaseCommand):
    help = (
        "Link each catalog service to its official status source from the data file (default "
        "detection/official/sources.json); run after catalog_load. Polling state is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=SOURCES_FILE,
            help="the sources file (default: detection/official/sources.json; format: "
            "docs/official-status.md)",
        )

    def handle(self, *args, file: Path, **options):
        try:
            linked = status_sources_load(path=file)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot load {file}: {exc}") from exc
        self.stdout.write(f"{linked} services linked to an official status source.")
