"""Guessing the reporter's country to preselect it in the form (never trusted)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pycountry
from django.conf import settings
from django.http import HttpRequest

COUNTRY_COOKIE = "ow_country"

# Countries with a code in common use that ISO 3166-1 has not (yet) assigned. Kosovo's "XK" is
# the code the EU, SWIFT and CDNs (Cloudflare's CF-IPCountry among them) use; without it a
# reporter there could not say where they are. The numeric code is none of ISO's.
USER_ASSIGNED_COUNTRIES = ({"alpha_2": "XK", "alpha_3": "XKX", "name": "Kosovo"},)


def register_user_assigned_countries() -> None:
    """Add ``USER_ASSIGNED_COUNTRIES`` to pycountry's table, once, so that every lookup (the
    API's validation, the form's list, names on pages) knows them alike."""
    for entry in USER_ASSIGNED_COUNTRIES:
        if pycountry.countries.get(alpha_2=entry["alpha_2"]) is None:
            pycountry.countries.add_entry(**entry)


def country_guess(request: HttpRequest) -> str:
    """The country a proxy told us (from the address) or the one this browser chose last time;
    "" otherwise, and the visitor picks one.

    Never the browser's language: a language is not a place ("en-US" is the default of most
    English-language browsers wherever they are), and a silent wrong guess is one click from a
    report counted for the wrong country, where detection runs per country and the page shows
    where people report. "Choose your country" costs a visitor one choice, once (the cookie).
    """
    candidates = [
        request.META.get(settings.COUNTRY_HEADER, ""),
        request.COOKIES.get(COUNTRY_COOKIE, ""),
    ]
    for candidate in candidates:
        code = candidate.strip().upper()
        if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
            return code
    return ""


def name_sort_key(name: str) -> str:
    """How a name reads, for sorting: accents and punctuation folded away ("Åland Islands"
    under A, "Côte d'Ivoire" after "Costa Rica"). Plain code points put "Å" after "Z" and
    "ô" after "z"; the locale's collation would depend on the server it runs on."""
    return _plain(name)


@cache
def country_choices() -> list[tuple[str, str]]:
    return sorted(
        ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries),
        key=lambda item: name_sort_key(item[1]),
    )


# Names people type that are in no ISO field.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
    "czech republic": "CZ",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "ivory coast": "CI",
}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


@cache
def _country_names() -> dict[str, str]:
    """Every spelling we accept (plain: no case, accents or punctuation) -> ISO code."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name", "alpha_3"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(_plain(value), country.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        names.setdefault(alias, code)
    return names


def country_lookup(value: str) -> str | None:
    """The ISO code of a country given by code ("DE", "de", "DEU") or name ("Germany")."""
    text = (value or "").strip()
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()) is not None:
        return text.upper()
    return _country_names().get(_plain(text)) if text else None


@cache
def subdivision_choices(country: str) -> list[tuple[str, str]]:
    """(ISO 3166-2 code, name) of a country's subdivisions, by name; [] for none or unknown."""
    subdivisions = pycountry.subdivisions.get(country_code=country) or []
    return sorted(((s.code, s.name) for s in subdivisions), key=lambda item: name_sort_key(item[1]))


def subdivision_lookup(value: str, *, country: str) -> str | None:
    """The code of the country's subdivision given as "DE-BE", "BE" or "Berlin"."""
    text = (value or "").strip()
    if not text:
        return None
    plain = _plain(text)
    for code, name in subdivision_choices(country):
        if plain in (_plain(code), _plain(code.split("-", 1)[1]), _plain(name)):
            return code
    return None
