"""Query parameters are validated like bodies: an empty or malformed value is a 400.

DRF reads a QueryDict with HTML-form rules, where an empty optional field means "not
given", so `?until=` or `?window=` silently fell back to defaults. Query serializers here
see a plain dict instead: an empty value is checked like any other.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class QuerySerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "lists"):  # a QueryDict: the last value of a repeated name wins
            data = {name: values[-1] for name, values in data.lists()}
        return super().to_internal_value(data)


def positive_int(raw: str, *, name: str, maximum: int) -> int:
    """A page size or the like: digits only, 1..maximum, else a field error."""
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise serializers.ValidationError({name: [f"Must be a whole number from 1 to {maximum}."]})
    return int(value)
