"""The subscribe form's countries: the names people type (English, their own language, with
or without "the", accents or dots) are taken; anything else is refused in plain words."""

from __future__ import annotations

import html

import pytest

from alerts.forms import SubscribeForm


def _countries(text: str) -> SubscribeForm:
    form = SubscribeForm({"email": "ann@example.com", "countries": text})
    form.is_valid()
    return form


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Turkey", "TR"),
        ("Türkiye", "TR"),
        ("the Netherlands", "NL"),
        ("The netherlands", "NL"),
        ("Holland", "NL"),
        ("Britain", "GB"),
        ("Great Britain", "GB"),
        ("U.K.", "GB"),
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
        ("osterreich", "AT"),
        ("España", "ES"),
        ("Burma", "MM"),
        ("Swaziland", "SZ"),
        ("Macedonia", "MK"),
        ("North Macedonia", "MK"),
        ("the Gambia", "GM"),
        ("Côte d'Ivoire", "CI"),
        ("de", "DE"),
        ("Germany", "DE"),
    ],
)
def test_common_and_native_names_are_taken(typed, code):
    form = _countries(typed)
    assert form.errors == {}
    assert form.cleaned_data["countries"] == [code]


def test_a_list_mixes_names_and_codes():
    form = _countries("Turkey, the Netherlands; Deutschland, AT")
    assert form.cleaned_data["countries"] == ["AT", "DE", "NL", "TR"]


def test_unknown_names_are_refused_in_plain_words():
    form = _countries("Narnia, Germany, Atlantis")
    assert form.errors["countries"] == [
        "We don't know a country called “Narnia”: use its name, like Germany, "
        "or its two-letter code, like DE.",
        "We don't know a country called “Atlantis”: use its name, like Germany, "
        "or its two-letter code, like DE.",
    ]


@pytest.mark.django_db
def test_the_form_page_shows_the_plain_error(client, service):
    response = client.post(
        "/services/acme/subscribe/", {"email": "x@example.com", "countries": "Narnia"}
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "We don't know a country called “Narnia”" in page
    assert "ISO 3166" not in page
