"""`catalog_load` says how many services it created, changed and found already as the file says,
and writes nothing for the last (reports.catalog)."""

from __future__ import annotations

import copy
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.catalog import catalog_read
from reports.models import FormerSlug, Service
from tests.reports.test_catalog_renames import entry as catalog_entry
from tests.reports.test_catalog_renames import load

pytestmark = pytest.mark.django_db
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def entry(slug: str, **extra) -> dict:
    return catalog_entry(slug, **{"category": "test-load", **extra})


CATALOG = {
    "categories": [{"slug": "test-load", "name": "Test load"}],
    "problem_types": [{"slug": "login", "name": "Login"}, {"slug": "app", "name": "App"}],
    "providers": [{"slug": "test-cloud", "name": "Test Cloud", "kind": "cloud"}],
    "services": [
        entry("alpha", providers=["test-cloud"]),
        entry("beta"),
        entry("gamma", renamed_from=["old-gamma"]),
    ],
}


def edited(**changes) -> dict:
    """CATALOG with the entry of each slug given updated by its dict."""
    data = copy.deepcopy(CATALOG)
    for row in data["services"]:
        row.update(changes.get(row["slug"], {}))
    return data


def test_loading_the_same_file_again_reports_every_service_unchanged(tmp_path):
    assert "3 services created, 0 updated, 0 unchanged." in load(tmp_path, CATALOG)
    with CaptureQueriesContext(connection) as queries:
        out = load(tmp_path, CATALOG)
    assert "0 services created, 0 updated, 3 unchanged." in out
    assert [q["sql"] for q in queries if WRITES.match(q["sql"])] == []
    assert FormerSlug.objects.get(slug="old-gamma").service.slug == "gamma"


@pytest.mark.parametrize(
    "changes",
    [
        {"beta": {"name": "Beta Two"}},
        {"beta": {"website": "https://beta.example/new"}},
        {"beta": {"status_page": "https://status.beta.example"}},
        {"beta": {"problems": ["login"]}},
        {"beta": {"providers": ["test-cloud"]}},
        {"beta": {"renamed_from": ["old-beta"]}},
    ],
    ids=["name", "website", "status page", "problems", "providers", "former slug"],
)
def test_one_edited_service_is_the_one_updated(tmp_path, changes):
    load(tmp_path, CATALOG)
    out = load(tmp_path, edited(**changes))
    assert "0 services created, 1 updated, 2 unchanged." in out
    assert "Catalog: 1 categories, 2 problem types" in out  # the other counts say as before


def test_a_new_category_for_one_service_updates_it_alone(tmp_path):
    load(tmp_path, CATALOG)
    data = edited(alpha={"category": "other"})
    data["categories"].append({"slug": "other", "name": "Other"})
    assert "0 services created, 1 updated, 2 unchanged." in load(tmp_path, data)
    assert Service.objects.get(slug="alpha").category.slug == "other"


def test_a_rename_is_an_update_and_still_said(tmp_path):
    load(tmp_path, CATALOG)
    data = edited(beta={"slug": "delta", "renamed_from": ["beta"]})
    out = load(tmp_path, data)
    assert "0 services created, 1 updated, 2 unchanged." in out
    assert "Renamed beta -> delta: its history, followers and old addresses follow." in out
    assert "0 services created, 0 updated, 3 unchanged." in load(tmp_path, data)


def test_the_real_catalog_loads_over_its_migration_unchanged():
    """The migrations loaded the catalog file: a deploy's load of the same file changes none."""
    out = StringIO()
    call_command("catalog_load", stdout=out)
    services = len(catalog_read()["services"])
    assert f"0 services created, 0 updated, {services} unchanged." in out.getvalue()
