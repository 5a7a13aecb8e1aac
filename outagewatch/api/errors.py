"""One error format for the whole API.

Every error answers ``{"detail": str, "code": str}``; validation errors add
``"fields": {name: [message, ...]}`` (``non_field_errors`` for the body as a whole).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from outagewatch.api.parsers import PayloadTooLarge
from outagewatch.quoting import quoted, shortened


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Django's own body limit (DATA_UPLOAD_MAX_MEMORY_SIZE) would otherwise be an HTML 400.
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = error_body(exc)
    return response


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return {
            "detail": "Invalid input.",
            "code": "invalid",
            "fields": _flatten(exc.detail),
        }
    detail = exc.detail
    if isinstance(detail, (list, dict)):
        return {"detail": "Invalid input.", "code": "invalid", "fields": _flatten(detail)}
    return {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}


def _flatten(detail: Any) -> dict[str, list[str]]:
    """``{name: [plain strings]}`` whatever DRF nested inside (list items, nested objects).

    DRF reports errors of list items as ``{index: [...]}`` and of nested serializers as
    ``{field: [...]}``; str() of those would show Python reprs to API clients.
    """
    if isinstance(detail, dict):
        # A key is what the client sent too (an unknown field's name): as short as a quote.
        return {shortened(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(detail: Any, prefix: str = "") -> list[str]:
    """Readable messages for one field, with where inside the value each error sits."""
    if isinstance(detail, dict):
        messages: list[str] = []
        for key, value in detail.items():
            # DRF numbers list items from 0; people count from 1.
            where = f"Item {key + 1}" if isinstance(key, int) else quoted(key)
            messages += _messages(value, f"{prefix}{where}: ")
        return messages
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item, prefix)]
    return [f"{prefix}{detail}"]


def error_response(exc: exceptions.APIException) -> Response:
    return Response(error_body(exc), status=exc.status_code or status.HTTP_400_BAD_REQUEST)
