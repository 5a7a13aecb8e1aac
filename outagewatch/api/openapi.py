"""The API's schema class (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS): drf-spectacular's, plus
the headers that every throttled, every failing and every conditional answer has.

Apart from outagewatch.api.schema because DRF imports this class while drf-spectacular's
views module, which that one builds on, is still loading.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_mocked_view, force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from outagewatch.api.conditional import CACHE_CONTROL, ConditionalRead

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "An ETag from an earlier answer (with or without its `W/`): 304 while the answer "
        "has not changed."
    ),
)

# Response headers, as OpenAPI header objects: put on the answers by ApiSchema below.
_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before asking again.",
    }
}
_CACHE_HEADERS = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Weak ETag of the answer: send it back in If-None-Match.",
    },
    "Cache-Control": {
        "schema": {"type": "string", "example": CACHE_CONTROL},
        "description": "Caches may reuse the answer this long without asking.",
    },
}
_NOT_MODIFIED = {
    "description": "Not modified: the answer is still the one of the ETag sent (no body)."
}
_MOVED = {
    "description": (
        "The service's current address: the slug was given in another case, or is a former "
        "slug of a renamed service (`code` `slug_case` or `renamed`). Follow the Location; "
        "the query is kept."
    ),
    "headers": {
        "Location": {
            "schema": {"type": "string"},
            "description": "The same address under the service's current slug.",
        }
    },
}

# outagewatch.api.negotiation: every view under /api/ speaks JSON only, before it reads anything.
_NOT_ACCEPTABLE = (
    "Not acceptable: the API answers JSON only, and the Accept header or `?format=` asked "
    "for something else (`not_acceptable`)."
)


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema (DEFAULT_SCHEMA_CLASS) plus what the views share, in one
    place rather than in each view's extend_schema: the 406 every operation can give,
    Retry-After on every 429 and 503, and for a conditional read
    (outagewatch.api.conditional.ConditionalRead) If-None-Match, the 304 and the ETag and
    Cache-Control headers; a body whose unknown fields are refused says so
    (additionalProperties false)."""

    def _map_serializer(
        self, serializer: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # reports.api.fields.RejectUnknownFieldsMixin: a client generated from the schema
        # should learn that a misspelt field is a 400, not find out (API tester, forty-fourth
        # session).
        if getattr(force_instance(serializer), "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        # drf-spectacular gives a blank-allowed field with a format (a URLField with
        # blank=True: Service.status_page) oneOf [the format, an empty string]. Where `format`
        # is an annotation, JSON Schema's default, "" matches both branches and fails oneOf:
        # every service without a status page failed validation (API integrator tester F4).
        # Either branch is enough, which is anyOf.
        if "oneOf" in schema and schema["oneOf"][-1] == {"type": "string", "maxLength": 0}:
            schema["anyOf"] = schema.pop("oneOf")

    def _conditional(self) -> bool:
        return self.method == "GET" and isinstance(self.view, ConditionalRead)

    def get_override_parameters(self) -> list[Any]:
        # extend_schema's parameters are added after these; one named the same replaces it.
        parameters = super().get_override_parameters()
        return [IF_NONE_MATCH, *parameters] if self._conditional() else parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        if self.method == "GET" and "{slug}" in self.path:
            # reports.renamed: answered before the view reads the query (API tester, and
            # schemathesis in the forty-sixth session: an undocumented 301).
            responses["301"] = {**_MOVED, **self._error_body()}
        # The README documents it; a generated client met an undeclared status (API
        # integrator tester F6).
        responses["406"] = {"description": _NOT_ACCEPTABLE, **self._error_body()}
        if self._conditional():
            responses["304"] = dict(_NOT_MODIFIED)
            for code in ("200", "304"):
                _add_headers(responses[code], _CACHE_HEADERS)
                _add_headers(responses[code], getattr(self.view, "response_headers", {}))
        for code in ("429", "503"):
            if code in responses:
                _add_headers(responses[code], _RETRY_AFTER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_body(self) -> dict[str, Any]:
        from outagewatch.api.schema import ApiErrorSerializer  # loads after this module

        error = self.resolve_serializer(ApiErrorSerializer, "response").ref
        return {"content": {"application/json": {"schema": error}}}

    def _get_callbacks(self) -> dict[str, Any]:
        # drf-spectacular renders a callback's body and answers but leaves out the parameters
        # of its extend_schema: the webhook's headers (alerts.api.webhooks), which a receiver
        # generated from the schema needs to check the signature.
        callbacks = super()._get_callbacks()
        for callback in self.get_callbacks():
            if isinstance(callback.decorator, dict):  # a decorator per method: none of ours
                continue
            view = build_mocked_view(
                method="post",
                path=callback.path,
                extend_schema_decorator=callback.decorator,
                registry=self.registry,
            )
            parameters = [p for p in view.schema._process_override_parameters().values() if p]
            if parameters:
                callbacks[callback.name][callback.path]["post"]["parameters"] = parameters
        return callbacks


def _add_headers(response: dict[str, Any], headers: dict[str, Any]) -> None:
    response["headers"] = {**response.get("headers", {}), **headers}
