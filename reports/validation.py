"""Validation rules shared by the website form and the API serializer."""

from __future__ import annotations

import pycountry
from django.core.exceptions import ValidationError

from reports.models import ProblemType, Service


def country_clean(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(
            f"“{value}” is not an ISO 3166-1 alpha-2 country code (e.g. DE, US).",
            code="invalid_country",
        )
    return code


def subdivision_clean(value: str, *, country: str) -> str:
    code = (value or "").strip().upper()
    if not code:
        return ""
    subdivision = pycountry.subdivisions.get(code=code)
    if subdivision is None:
        raise ValidationError(
            f"“{value}” is not an ISO 3166-2 subdivision code (e.g. DE-BE).",
            code="invalid_subdivision",
        )
    if subdivision.country_code != country:
        raise ValidationError(
            f"Subdivision {code} is not in country {country}.", code="subdivision_mismatch"
        )
    return code


def service_problem_clean(*, service: Service, problem_slug: str) -> ProblemType:
    problem = service.problem_types.filter(slug=problem_slug).first()
    if problem is None:
        offered = ", ".join(sorted(service.problem_types.values_list("slug", flat=True)))
        raise ValidationError(
            f"{service.name} does not offer problem “{problem_slug}”. Choose one of: {offered}.",
            code="invalid_problem",
        )
    return problem
