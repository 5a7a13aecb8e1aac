"""The stand-alone subscribe page (the form's answer when something needs correcting): one
h1, and each field in error marked invalid and described by its error."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db


class _Tags(HTMLParser):
    """Start tags with their attributes, in order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def input(self, name: str) -> dict[str, str | None]:
        return next(a for t, a in self.tags if t == "input" and a.get("name") == name)


def _page(client, **fields) -> str:
    response = client.post("/services/acme/subscribe/", fields)
    assert response.status_code == 400
    return response.content.decode()


def test_the_error_page_has_one_h1(client, service):
    page = _page(client, email="not-an-email")
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page) == ["Get alerts when Acme Cloud has problems"]


def test_a_field_in_error_is_invalid_and_described_by_its_error(client, service):
    page = _page(client, email="not-an-email", countries="Narnia")
    tags = _Tags(page)
    for name in ("email", "countries"):
        field = tags.input(name)
        assert field["aria-invalid"] == "true"
        error_id = field["aria-describedby"].split()[0]
        error = re.search(rf'<div id="{error_id}">(.*?)</div>', page, re.S)
        assert error is not None and 'class="field-error"' in error.group(1)
    assert "autofocus" in tags.input("email")


def test_a_correct_field_is_not_marked(client, service):
    countries = _Tags(_page(client, email="not-an-email", countries="Germany")).input("countries")
    assert "aria-invalid" not in countries
    assert countries["aria-describedby"] == "subscribe-countries-help"


def test_on_the_service_page_the_form_keeps_its_h2(client, service):
    page = client.get("/services/acme/").content.decode()
    card = page[page.index('id="subscribe"') :]
    card = card[: card.index("</section>")]
    assert "<h2>Get alerts when Acme Cloud has problems</h2>" in card and "<h1" not in card
