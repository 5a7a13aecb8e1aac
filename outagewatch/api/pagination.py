"""Pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from outagewatch.api.query import positive_int


class _StrictPageSize:
    """page_size must be a whole number from 1 to max_page_size; DRF ignored bad values."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size  # type: ignore[attr-defined]
        return positive_int(raw, name=self.page_size_query_param, maximum=self.max_page_size)

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
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        return positive_int(raw, name=self.page_query_param, maximum=2**31 - 1)


class NewestFirstCursorPagination(_StrictPageSize, pagination.CursorPagination):
    """For time-ordered lists: stable under inserts, newest first."""

    page_size = 50
    ordering = "-created_at"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # A cursor is opaque, but anyone can encode one: DRF checks its form, not that its
        # position is a value of the ordering field ("p=2024" for a time), which the
        # database filter then refuses. That is the same invalid cursor, so the same 404.
        if request.query_params.get(self.cursor_query_param) is None:
            return super().paginate_queryset(queryset, request, view)
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
