"""Validation shared by the subscribe form and the subscriptions API."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from reports.validation import country_clean

MAX_COUNTRIES = 50
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit


def email_clean(value: str) -> str:
    address = (value or "").strip()
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError("Enter a valid email address.", code="invalid_email")
    validate_email(address)
    return address.lower()


def countries_clean(values: list[str]) -> list[str]:
    """ISO codes, deduplicated and sorted; every bad code is named at once."""
    if len(values) > MAX_COUNTRIES:
        raise ValidationError(
            f"At most {MAX_COUNTRIES} countries; leave empty for all.", code="too_many"
        )
    codes: set[str] = set()
    errors: list[ValidationError] = []
    for value in values:
        try:
            codes.add(country_clean(value))
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    return sorted(codes)


def countries_split(text: str) -> list[str]:
    """The form's free text: "DE, AT fr" -> ["DE", "AT", "fr"]."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]
