"""Pagination shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from outagewatch.api.query import positive_int, single_value


def _public_url(request: Request) -> str:
    """This request's address as the public site names it (SITE_URL), like every other link
    in API bodies. DRF builds next/previous from the request's Host and scheme: a client that
    came in by a second allowed name (www and apex, an internal name for probes) or through
    a hop that drops X-Forwarded-Proto followed them off the public address, while `url`
    and `api_url` in the same body stayed on it."""
    return f"{settings.SITE_URL}{request.get_full_path()}"


class _StrictPageSize:
    """page_size must be a whole number from 1 to max_page_size; DRF ignored bad values."""

    # Typed as DRF's paginations type them (they are read here only as set here).
    page_size_query_param: str | None = "page_size"
    max_page_size: int | None = 200
    page_size: int

    def get_page_size(self, request: Request) -> int:
        name = self.page_size_query_param or "page_size"
        raw = single_value(request.query_params, name)
        if raw is None:
            return self.page_size
        return positive_int(raw, name=name, maximum=self.max_page_size or 2**31 - 1)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)  # type: ignore[misc]
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                maximum = self.max_page_size
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": maximum}
        return parameters


class PageNumberPagination(_StrictPageSize, pagination.PageNumberPagination):
    page_size = 50
    # DRF read `?page=` (empty) as page 1 and `?page=last` as the last page; the schema says
    # a positive integer, so that is what is accepted (a page past the end stays a 404).
    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Any) -> int:
        raw = single_value(request.query_params, self.page_query_param)
        if raw is None:
            return 1
        return positive_int(raw, name=self.page_query_param, maximum=2**31 - 1)

    def get_next_link(self) -> str | None:
        assert self.page is not None and self.request is not None  # set by paginate_queryset
        if not self.page.has_next():
            return None
        number = self.page.next_page_number()
        return replace_query_param(_public_url(self.request), self.page_query_param, number)

    def get_previous_link(self) -> str | None:
        assert self.page is not None and self.request is not None  # set by paginate_queryset
        if not self.page.has_previous():
            return None
        url, number = _public_url(self.request), self.page.previous_page_number()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)


class NewestFirstCursorPagination(_StrictPageSize, pagination.CursorPagination):
    """For time-ordered lists, newest first: a keyset cursor on (time, id).

    DRF's cursor holds a position in the first ordering field only, and an offset among the
    rows that share it: rows opened in one minute (an upstream outage's members, whole
    minutes) are common, and one inserted into such a run between two pages moved the
    offsets, so the next page repeated one row and never listed another. Here a cursor names
    the last row shown by both its fields, and the next page is every row after it.
    """

    page_size = 50
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size = self.get_page_size(request)
        time_field, id_field = (name.lstrip("-") for name in self.ordering)
        raw = single_value(request.query_params, self.cursor_query_param)
        backwards, key = (False, None) if raw is None else self._decode(raw)
        if key is None:
            rows = queryset.order_by(*self.ordering)
        elif backwards:  # the page before the one whose first row is `key`
            at, pk = key
            after = Q(**{f"{time_field}__gt": at}) | Q(**{time_field: at, f"{id_field}__gt": pk})
            rows = queryset.filter(after).order_by(time_field, id_field)
        else:
            at, pk = key
            before = Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, f"{id_field}__lt": pk})
            rows = queryset.filter(before).order_by(*self.ordering)
        try:
            page = list(rows[: self.page_size + 1])
        except (DjangoValidationError, ValueError, OverflowError):
            raise self._invalid() from None
        more = len(page) > self.page_size
        page = page[: self.page_size]
        if backwards:
            page.reverse()
        self.has_next = key is not None if backwards else more
        self.has_previous = more if backwards else key is not None
        self.page = page
        self._keys = [(getattr(row, time_field), getattr(row, id_field)) for row in page]
        return page

    def get_next_link(self) -> str | None:
        if not (self.has_next and self._keys):
            return None
        return self._link(False, self._keys[-1])

    def get_previous_link(self) -> str | None:
        if not (self.has_previous and self._keys):
            return None
        return self._link(True, self._keys[0])

    def _link(self, backwards: bool, key: tuple[datetime, int]) -> str:
        at, pk = key
        token = json.dumps([int(backwards), at.isoformat(), pk], separators=(",", ":"))
        cursor = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
        return replace_query_param(_public_url(self.request), self.cursor_query_param, cursor)

    def _invalid(self) -> ValidationError:
        return ValidationError(
            {
                self.cursor_query_param: [
                    "Not a cursor of this list: follow its next or previous link."
                ]
            }
        )

    def _decode(self, raw: str) -> tuple[bool, tuple[datetime, int]]:
        """A cursor is opaque, but anyone can make one: any that is not one of ours (its form,
        a time, an id in range) is the same invalid cursor: bad input, a 400 naming the
        parameter (DRF answered 404, as if the list were missing)."""
        try:
            padded = raw + "=" * (-len(raw) % 4)
            backwards, at, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            when = datetime.fromisoformat(at)
            if when.tzinfo is None or backwards not in (0, 1):
                raise ValueError(raw)
            if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
                raise ValueError(raw)
        except (ValueError, TypeError, UnicodeError, binascii.Error):
            raise self._invalid() from None
        return bool(backwards), (when, pk)
