"""search.json's aliases follow a service renamed in the catalog (reports.search): a key left
under the former slug still finds it, and a key under the current slug wins."""

from __future__ import annotations

import pytest

from reports import search
from reports.cache import catalog_forget
from reports.catalog import catalog_read, catalog_sync
from reports.search import SearchWords, service_search, service_terms

pytestmark = pytest.mark.django_db


@pytest.fixture
def outlook_renamed():
    """Outlook.com renamed in catalog.json (outlook -> outlook-com), search.json left as is:
    its aliases ("hotmail", ...) stay under "outlook"."""
    data = catalog_read()
    (row,) = [row for row in data["services"] if row["slug"] == "outlook"]
    row.update(slug="outlook-com", renamed_from=["outlook"])
    catalog_sync(data=data)
    assert "outlook" in search.search_words().aliases
    return "outlook-com"


def test_aliases_under_a_former_slug_find_the_renamed_service(outlook_renamed):
    assert service_search("hotmail") == [outlook_renamed]
    assert service_search("ms outlook")[0] == outlook_renamed


def test_the_live_filter_gets_the_aliases_of_a_former_slug(outlook_renamed):
    terms = service_terms(
        slug=outlook_renamed, name="Outlook.com", category_slug="email", category_name="Email"
    )
    assert "hotmail" in terms


def test_a_key_under_the_current_slug_wins_over_one_under_a_former_slug(
    outlook_renamed, monkeypatch
):
    words = search.search_words()
    aliases = {**words.aliases, outlook_renamed: ("windows live",)}
    monkeypatch.setattr(search, "search_words", lambda: SearchWords(aliases, words.keywords))
    catalog_forget()  # the index is built once per catalog copy
    assert service_search("windows live") == [outlook_renamed]
    assert service_search("hotmail") == []
