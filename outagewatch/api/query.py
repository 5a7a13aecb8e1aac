"""Query parameters are validated like bodies: an empty or malformed value is a 400.

DRF reads a QueryDict with HTML-form rules, where an empty optional field means "not
given", so `?until=` or `?window=` silently fell back to defaults. Query serializers here
see a plain dict instead: an empty value is checked like any other. A parameter the API
reads, given twice, is a 400 too: the last one silently won (?service=a&service=b filtered
on b alone), and no parameter here takes a list.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

REPEATED_MESSAGE = "Give this parameter once."
# "...T10:00:00 01:00": an offset's "+" sent unencoded, which a query string reads as a space.
_PLUS_READ_AS_SPACE = re.compile(r"\d \d{2}(:?\d{2})?$")
PLUS_HINT = "A '+' in a URL reads as a space: write the offset's '+' as %2B, or give UTC with Z."


class QueryDateTimeField(serializers.DateTimeField):
    """A date and time parameter whose error says what an unencoded "+" became (API tester,
    forty-fourth session: the generic format message left the caller looking at a string
    that seemed right)."""

    default_error_messages = {"plus_as_space": PLUS_HINT}

    def to_internal_value(self, value: Any) -> Any:
        try:
            return super().to_internal_value(value)
        except serializers.ValidationError:
            if isinstance(value, str) and _PLUS_READ_AS_SPACE.search(value):
                self.fail("plus_as_space")
            raise


class QuerySerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "lists"):  # a QueryDict
            repeated = {
                name: [REPEATED_MESSAGE]
                for name, values in data.lists()
                if len(values) > 1 and name in self.fields
            }
            if repeated:
                raise serializers.ValidationError(repeated)
            data = {name: values[-1] for name, values in data.lists()}
        return super().to_internal_value(data)


def single_value(query: QueryDict, name: str) -> str | None:
    """A parameter read outside a QuerySerializer (pagination): None if absent, a field
    error if given more than once."""
    values = query.getlist(name)
    if len(values) > 1:
        raise serializers.ValidationError({name: [REPEATED_MESSAGE]})
    return values[0] if values else None


def positive_int(raw: str, *, name: str, maximum: int) -> int:
    """A page size or the like: digits only, 1..maximum, else a field error."""
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise serializers.ValidationError({name: [f"Must be a whole number from 1 to {maximum}."]})
    return int(value)
