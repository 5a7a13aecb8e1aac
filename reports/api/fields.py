from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from reports.cache import CatalogService, catalog_service
from reports.models import Service

T = TypeVar("T")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and objects instead of str()-ing them."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """Refuse fields the endpoint does not know, so typos do not pass silently."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []  # type: ignore[attr-defined]
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


def drf_validated(clean: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a reports.validation rule; its Django ValidationError becomes DRF's (same messages)."""
    try:
        return clean(*args, **kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None


def catalog_entry_from_slug(value: str) -> CatalogService:
    """The active service a client named by slug, with its problem types, or a field error.

    From the catalog held in process (reports.cache): no query.
    """
    entry = catalog_service(value.strip().lower())
    if entry is None:
        raise serializers.ValidationError(f"Unknown service “{value}”.")
    return entry


def service_from_slug(value: str) -> Service:
    """The active service a client named by slug, or a field error."""
    return catalog_entry_from_slug(value).service
