"""Validation rules shared by the website form and the API serializer."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pycountry
from django.core.exceptions import ValidationError

from outagewatch.quoting import quoted, shortened
from reports import text
from reports.geo import country_lookup, subdivision_lookup
from reports.models import ProblemType, Service

_SLUG = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")


def slug_clean(value: str) -> str:
    """A catalog slug: lower case, as the API and the site's addresses look slugs up (an
    upper-case one was listed, yet no report could name it)."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValidationError(
            f"{shortened(value)!r} is not a slug: use lower-case letters, digits, underscores "
            "and single hyphens between them.",
            code="invalid_slug",
        )
    return value


def newlines_unified(value: str) -> str:
    """Every line break as one "\n". A browser counts a textarea's break as one character
    against its maxlength but submits it as CRLF, so a comment the box allowed was refused as
    too long ("up to 280; yours has 335", text tester, forty-sixth session): both the form and
    the API count and store breaks this way, before the length is checked."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def comment_clean(value: str) -> str:
    """A comment as shown to everyone: plain text. One of only whitespace and invisible
    formatting characters (a zero-width space, a byte-order mark) counts as none, like a
    blank one."""
    if text.LINES_REFUSED.search(value):
        raise ValidationError(
            "Must not contain control characters or text-direction overrides.",
            code="invalid_comment",
        )
    return value.strip() if text.visible(value) else ""


def country_clean(value: str) -> str:
    code = (value or "").strip()
    # Two ASCII letters before upper-casing: "ß".upper() is "SS" (South Sudan).
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        code = ""
    code = code.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(
            f"{quoted(value)} is not an ISO 3166-1 alpha-2 country code (e.g. DE, US).",
            code="invalid_country",
        )
    return code


def country_from_text(value: str) -> str:
    """What a person types: a country's name ("Germany", "germany") or its code ("DE")."""
    code = country_lookup(value)
    if code is None:
        raise ValidationError(
            f"We do not know a country called {quoted((value or '').strip())}. Type its name in "
            "English (e.g. Germany) or its two-letter code (e.g. DE).",
            code="invalid_country",
        )
    return code


def subdivision_from_text(value: str, *, country: str) -> str:
    """A region of ``country`` by code ("DE-BE", "BE") or name ("Berlin"); "" for none."""
    if not (value or "").strip():
        return ""
    code = subdivision_lookup(value, country=country)
    if code is None:
        raise ValidationError(
            f"{quoted(value.strip())} is not a region of {country}. Pick one from the list, or "
            "leave it empty.",
            code="invalid_subdivision",
        )
    return code


def subdivision_clean(value: str, *, country: str) -> str:
    code = (value or "").strip().upper()
    if not code:
        return ""
    subdivision = pycountry.subdivisions.get(code=code)
    if subdivision is None:
        raise ValidationError(
            f"{quoted(value)} is not an ISO 3166-2 subdivision code (e.g. DE-BE).",
            code="invalid_subdivision",
        )
    if subdivision.country_code != country:
        raise ValidationError(
            f"Subdivision {code} is not in country {country}.", code="subdivision_mismatch"
        )
    return code


def service_problem_clean(
    *, service: Service, problem_slug: str, problems: Mapping[str, ProblemType] | None = None
) -> ProblemType:
    """The problem type ``service`` offers under this slug.

    ``problems`` (by slug) saves the lookup when the caller has them (reports.cache);
    otherwise the service's (prefetched) problem types are used.
    """
    if problems is None:
        problems = {problem.slug: problem for problem in service.problem_types.all()}
    problem = problems.get(problem_slug)
    if problem is None:
        offered = ", ".join(sorted(problems))
        raise ValidationError(
            f"{service.name} does not offer problem {quoted(problem_slug)}. "
            f"Choose one of: {offered}.",
            code="invalid_problem",
        )
    return problem
