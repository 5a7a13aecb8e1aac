"""One error format for the whole API.

Every error answers ``{"detail": str, "code": str}``; validation errors add
``"fields": {name: [message, ...]}`` (``non_field_errors`` for the body as a whole).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
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
    if isinstance(detail, dict):
        return {
            key: [str(m) for m in value] if isinstance(value, list) else [str(value)]
            for key, value in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(m) for m in messages]}


def error_response(exc: exceptions.APIException) -> Response:
    return Response(error_body(exc), status=exc.status_code or status.HTTP_400_BAD_REQUEST)
