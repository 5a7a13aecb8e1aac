"""The API docs page (/api/docs/, "API" in every page's header) meets what the site's pages
do (accessibility tester F5, forty-fifth session: no language, no way back to the site, white
method labels at 2.3:1, 19-px links)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.test_page_accessibility import ratio

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "api-docs.css").read_text()


@pytest.mark.django_db
def test_the_docs_page_has_a_language_a_way_back_and_its_styles(client):
    page = client.get("/api/docs/").content.decode()
    assert '<html lang="en">' in page
    assert '<a href="/">← OutageWatch</a>' in page
    assert "css/api-docs.css" in page
    assert "<title>" in page and " · OutageWatch</title>" in page


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
def test_method_labels_are_white_on_a_dark_enough_colour(method):
    rule = re.search(
        rf"\.opblock-{method} \.opblock-summary-method \{{ background: (#\w+); \}}", CSS
    )
    assert rule is not None, method
    assert ratio("#fff", rule.group(1)) >= 4.5


def test_the_version_stamps_and_the_info_links_meet_aa():
    for selector in (r"small\.version-stamp", r"\.title small"):
        colour = re.search(rf"{selector} \{{ background: (#\w+); \}}", CSS).group(1)
        assert ratio("#fff", colour) >= 4.5, selector
    link = re.search(r"\.info a, \.swagger-ui \.info \.link \{ color: (#\w+); \}", CSS).group(1)
    assert ratio(link, "#fafafa") >= 4.5
