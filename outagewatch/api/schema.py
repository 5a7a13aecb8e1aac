"""OpenAPI pieces shared by every endpoint: the error body and the error answers (their
headers: outagewatch.api.openapi)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class ApiErrorSerializer(serializers.Serializer):
    """Every error answer of the API: what went wrong in words, a stable code, and for
    invalid input the message of each bad field or query parameter."""

    # The one error format (outagewatch.api.errors).

    detail = serializers.CharField()
    code = serializers.CharField()
    # A field named as Serializer's `fields` property: the serializer's metaclass takes
    # declared fields out of the class body, so nothing is shadowed at run time.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


_DESCRIPTIONS = {
    400: (
        "Invalid input: `fields` names each bad field or query parameter (on a read, one that "
        "the endpoint does not read is one)."
    ),
    404: "Not found.",
    413: "Request body too large (`payload_too_large`).",
    415: "Request body is not JSON.",
    429: "Too many requests from this client: retry after the Retry-After header's seconds.",
    503: "Temporarily unavailable (database down): retry after the Retry-After header's seconds.",
}
ERRORS = {
    code: OpenApiResponse(ApiErrorSerializer, description=description)
    for code, description in _DESCRIPTIONS.items()
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The shared error answers for these status codes, for `responses=` in extend_schema."""
    return {code: ERRORS[code] for code in codes}


# What a read can answer besides 200/304, and what a JSON POST can answer besides 201.
READ_ERRORS = errors(400, 404, 429, 503)
WRITE_ERRORS = errors(400, 413, 415, 429, 503)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document (YAML, or JSON with ?format=json). Its errors are JSON in the one
    error format like every other answer under /api/: a 405 or 406 came as YAML."""

    def finalize_response(self, request: Request, response: Response, *args, **kwargs) -> Response:
        if response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
