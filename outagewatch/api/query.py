"""Query parameters are validated like bodies: an empty or malformed value is a 400.

DRF reads a QueryDict with HTML-form rules, where an empty optional field means "not
given", so `?until=` or `?window=` silently fell back to defaults. Query serializers here
see a plain dict instead: an empty value is checked like any other. A parameter the API
reads, given twice, is a 400 too: the last one silently won (?service=a&service=b filtered
on b alone), and no parameter here takes a list. So is one it does not read
(KnownQueryParameters).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, cast

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.settings import api_settings

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


class KnownQueryParameters:
    """For a read view: a query parameter it does not read is a 400 naming it. Ignored, a
    misspelt filter (?servce=chatgpt, ?stauts=active) answered with the unfiltered list,
    which the caller took for the filtered one.

    query_serializer_class: the parameters the view validates; paginated: it also reads its
    pagination's (page, page_size, cursor)."""

    query_serializer_class: type[QuerySerializer] | None = None
    paginated = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # The cast: mypy finds a class object not Hashable (it reads __hash__ as unbound).
        known = query_names(cast(Any, type(self)))
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise serializers.ValidationError(
                {name: [unknown_message(name, known)] for name in unknown}
            )


@functools.cache
def query_names(view_class: type[KnownQueryParameters]) -> frozenset[str]:
    """The query parameters a view reads. Once per view class: building a serializer's fields
    is not free."""
    serializer_class = view_class.query_serializer_class
    names = set(serializer_class().fields) if serializer_class else set()
    if view_class.paginated:
        pagination = getattr(view_class, "pagination_class", None)
        for attribute in ("cursor_query_param", "page_size_query_param", "page_query_param"):
            if (name := getattr(pagination, attribute, None)) is not None:
                names.add(name)
    if api_settings.URL_FORMAT_OVERRIDE:  # ?format=json, which DRF itself reads
        names.add(api_settings.URL_FORMAT_OVERRIDE)
    return frozenset(names)


def unknown_message(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" Did you mean '{close[0]}'?" if close else ""
    reads = [n for n in sorted(known) if n != api_settings.URL_FORMAT_OVERRIDE]
    takes = f"It reads: {', '.join(reads)}." if reads else "It reads no query parameters."
    return f"This endpoint has no parameter by that name.{guess} {takes}"
