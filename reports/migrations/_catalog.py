"""The catalog file as the data migrations read it (a leading underscore: Django does not load
it as a migration). Kept here, not in the app's code, so that those migrations do not change
when the code does; the file itself is read as it is today, so a fresh install starts from
today's catalog (what `manage.py catalog_load` reads)."""

import json
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).resolve().parent.parent / "data" / "catalog.json"


def catalog_read() -> dict[str, Any]:
    with CATALOG_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)
