from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from outagewatch.quoting import quoted, shortened
from outagewatch.rounding import for_readers
from reports import validation
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


class CommentCharField(StrictCharField):
    """Line breaks counted as one character, as the website's form counts them
    (reports.validation.newlines_unified)."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            data = validation.newlines_unified(data)
        return super().to_internal_value(data)


class RoundedFloatField(serializers.FloatField):
    """A float as a reader needs it (outagewatch.rounding.for_readers)."""

    def __init__(self, *, decimals: int = 2, **kwargs: Any) -> None:
        self.decimals = decimals
        super().__init__(**kwargs)

    # DRF's stubs type a FloatField's representation as str; DRF's gives float(value).
    def to_representation(self, value: Any) -> float:  # type: ignore[override]
        return for_readers(float(value), self.decimals)


class ChoiceField(serializers.ChoiceField):
    """A ChoiceField whose error quotes a short prefix of the input (DRF's quotes it all)."""

    def fail(self, key: str, **kwargs: Any) -> NoReturn:
        if "input" in kwargs:
            kwargs["input"] = shortened(kwargs["input"])
        super().fail(key, **kwargs)


# The mixins' notes are comments, not docstrings: drf-spectacular describes a serializer's
# schema component with the first docstring in its class hierarchy, mixins included, and
# these are about the code, not about what an API user sends.


# Refuse fields the endpoint does not know, so typos do not pass silently.
class RejectUnknownFieldsMixin:
    refuses_unknown_fields = True  # the schema says so (outagewatch.api.openapi.ApiSchema)

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


# Each serializer instance gets shallow copies of the declared fields.
#
# DRF deep-copies them for every instance, which runs each field's __init__ again: on the
# report POST that was a fifth of the validation's CPU (bench/load/README.md). A serializer
# whose fields are never changed per instance may use this; a shallow copy with its own
# validator list is as independent of the class's fields (bind() and validation set
# attributes of the copy only).
class CopiedFieldsMixin:
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, declared in self._declared_fields.items():  # type: ignore[attr-defined]
            field = copy.copy(declared)
            field.validators = list(declared.validators)
            fields[name] = field
        return fields


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
        raise serializers.ValidationError(f"Unknown service {quoted(value)}.")
    return entry


def service_from_slug(value: str) -> Service:
    """The active service a client named by slug, or a field error."""
    return catalog_entry_from_slug(value).service
