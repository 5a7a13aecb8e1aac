"""GET /api/ and /api/v1/: where the endpoints are, for a client (or person) that starts
at the root. Both were a plain 404."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from outagewatch.api.conditional import ConditionalRead, conditional_response
from outagewatch.api.schema import errors

# Link name -> URL name, in the order a newcomer reads them.
V1_LINKS = {
    "services": "service-list",
    "outages": "outage-list",
    "status": "status",
    "track_record": "track-record",
    "reports": "report-create",
    "subscriptions": "subscription-create",
    "health": "health",
    "health_live": "health-live",
    "schema": "schema",
    "docs": "api-docs",
}


def _absolute(url_name: str) -> str:
    # As the public site names it (SITE_URL), like every link in API bodies.
    return f"{settings.SITE_URL}{reverse(url_name)}"


# In the schema, as README sends newcomers here; /api/ is not: it is outside v1, and only
# says where v1 is.
class ApiV1IndexView(ConditionalRead, APIView):
    throttle_scope = "reads"

    @extend_schema(
        operation_id="v1_index",
        summary="Where the v1 endpoints are",
        description="Absolute links (under the site's public address) to each part of the API.",
        responses={
            200: inline_serializer(
                "ApiV1Index",
                fields={
                    "version": serializers.CharField(),
                    "links": inline_serializer(
                        "ApiV1Links",
                        fields={name: serializers.URLField() for name in V1_LINKS},
                    ),
                },
            ),
            **errors(429),
        },
    )
    def get(self, request: Request) -> Response:
        return conditional_response(
            request,
            {
                "version": "v1",
                "links": {name: _absolute(url_name) for name, url_name in V1_LINKS.items()},
            },
        )


@extend_schema(exclude=True)
class ApiRootView(ConditionalRead, APIView):
    throttle_scope = "reads"

    def get(self, request: Request) -> Response:
        return conditional_response(
            request,
            {
                "current": "v1",
                "versions": {"v1": f"{settings.SITE_URL}{reverse('api-v1-index')}"},
                "docs": _absolute("api-docs"),
            },
        )
