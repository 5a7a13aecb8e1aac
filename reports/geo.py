"""Guessing the reporter's country to preselect it in the form (never trusted)."""

from __future__ import annotations

import re

import pycountry
from django.conf import settings
from django.http import HttpRequest

COUNTRY_COOKIE = "ow_country"
_LANG_REGION = re.compile(r"^[a-z]{2,3}[-_]([a-z]{2})\b", re.IGNORECASE)


def country_guess(request: HttpRequest) -> str:
    """The country a proxy told us, the one chosen last time, or the browser's locale region."""
    candidates = [
        request.META.get(settings.COUNTRY_HEADER, ""),
        request.COOKIES.get(COUNTRY_COOKIE, ""),
    ]
    for part in request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(","):
        match = _LANG_REGION.match(part.strip())
        if match:
            candidates.append(match.group(1))
    for candidate in candidates:
        code = candidate.strip().upper()
        if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
            return code
    return ""


def country_choices() -> list[tuple[str, str]]:
    return sorted(
        ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries),
        key=lambda item: item[1],
    )
